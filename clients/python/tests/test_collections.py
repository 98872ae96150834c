"""Collections, aliases and snapshots, through a real server."""

from __future__ import annotations

import shutil

import grpc
import numpy as np
import pytest

import annserver
from annserver import AbortedError, AlreadyExistsError, FailedPreconditionError, NotFoundError
from annserver._proto import collections_pb2


def test_create_describes_the_new_collection(client, name):
    info = client.create_collection(name, dimension=8, metric="cosine", m=8, ef_construction=50, quantization="int8")
    assert (info.name, info.dimension, info.metric, info.m, info.ef_construction, info.quantization) == (
        name, 8, collections_pb2.METRIC_COSINE, 8, 50, collections_pb2.QUANTIZATION_INT8)
    assert info.count == 0


def test_list_and_info_show_the_collection(client, name):
    client.create_collection(name, dimension=4)
    client.upsert(name, [1, 2, 3], np.ones((3, 4)))
    assert name in [info.name for info in client.list_collections()]
    info = client.collection_info(name)
    assert (info.count, info.state) == (3, collections_pb2.COLLECTION_STATE_READY)


def test_drop_removes_the_collection(client, name):
    client.create_collection(name, dimension=4)
    client.drop_collection(name)
    assert name not in [info.name for info in client.list_collections()]
    with pytest.raises(NotFoundError) as raised:
        client.collection_info(name)
    assert raised.value.code == grpc.StatusCode.NOT_FOUND
    assert name in raised.value.details


def test_checkpoint_covers_the_writes(client, name):
    client.create_collection(name, dimension=4)
    client.upsert(name, [1, 2], np.ones((2, 4)))
    assert client.collection_info(name).writes_since_snapshot == 1
    checkpoint = client.checkpoint(name)
    assert checkpoint.info.writes_since_snapshot == 0
    assert checkpoint.info.count == 2


def test_creating_a_name_in_use_is_already_exists(client, name):
    client.create_collection(name, dimension=4)
    with pytest.raises(AlreadyExistsError, match=name):
        client.create_collection(name, dimension=4)


def test_aliases_create_switch_with_expected_and_delete(client, name):
    first, second, alias = f"{name}-a", f"{name}-b", f"{name}-alias"
    client.create_collection(first, dimension=2)
    client.create_collection(second, dimension=2)
    client.upsert(first, [1], [[0.0, 0.0]])
    client.upsert(second, [2], [[0.0, 0.0]])

    client.create_alias(alias, first)
    assert client.list_aliases()[alias] == first
    assert client.search(alias, [0.0, 0.0], k=1).ids.tolist() == [1]

    assert client.switch_alias(alias, second, expected=first) == first
    assert client.search(alias, [0.0, 0.0], k=1).ids.tolist() == [2]
    with pytest.raises(AbortedError) as raised:
        client.switch_alias(alias, first, expected=first)
    assert raised.value.code == grpc.StatusCode.ABORTED
    assert client.list_aliases()[alias] == second

    with pytest.raises(FailedPreconditionError, match=alias):
        client.drop_collection(second)
    client.delete_alias(alias)
    assert alias not in client.list_aliases()
    with pytest.raises(NotFoundError):
        client.delete_alias(alias)


def _checkpointed_snapshot(client, server, name: str, points: int) -> tuple[np.ndarray, object]:
    """A snapshot file made by the server itself: a collection checkpointed, its snapshot.snap copied into the import
    folder."""
    vectors = np.random.default_rng(7).standard_normal((points, 8)).astype(np.float32)
    client.create_collection(name, dimension=8)
    client.upsert(name, np.arange(points), vectors)
    client.checkpoint(name)
    target = server.import_dir / f"{name}.snap"
    shutil.copyfile(server.data_dir / name / "snapshot.snap", target)
    return vectors, target


def test_load_snapshot_serves_the_file_as_a_new_collection(client, server, name):
    vectors, file = _checkpointed_snapshot(client, server, f"{name}-source", 50)
    loaded = client.load_snapshot(f"{name}-loaded", file.name)
    assert loaded.info.count == 50
    assert loaded.bytes == file.stat().st_size
    assert np.array_equal(client.get(f"{name}-loaded", [7]).vectors[0], vectors[7])
    with pytest.raises(annserver.InvalidArgumentError, match=r"\.\."):
        client.load_snapshot(f"{name}-escape", "../outside.snap")


def test_upload_snapshot_streams_the_file_in_chunks(client, server, name):
    vectors, file = _checkpointed_snapshot(client, server, f"{name}-source", 300)
    # A chunk much smaller than the file: many messages, and a last one shorter than the others.
    uploaded = client.upload_snapshot(f"{name}-uploaded", file, chunk_bytes=4093)
    assert uploaded.info.count == 300
    assert uploaded.bytes == file.stat().st_size
    assert np.array_equal(client.get(f"{name}-uploaded", [299]).vectors[0], vectors[299])
    with open(file, "rb") as stream:
        again = client.upload_snapshot(f"{name}-from-stream", stream)
    assert again.info.count == 300
