"""Stored id sets: put_id_set / delete_id_set / list_id_sets, and InIdSet in the filter builder, on a real server."""

from __future__ import annotations

import time

import numpy as np
import pytest

from annserver import Filter, InIdSet, InvalidArgumentError, NotFoundError
from annserver._proto import id_sets_pb2, vectors_pb2


def test_in_id_set_maps_onto_the_proto():
    built = Filter(must_not=[InIdSet("seen-42")]).to_filter_proto()
    assert built == vectors_pb2.Filter(must_not=[vectors_pb2.Condition(id_set=id_sets_pb2.IdSetCondition(name="seen-42"))])


def _points(client, name, count=50):
    client.create_collection(name, dimension=2)
    vectors = np.column_stack([np.arange(count), np.zeros(count)]).astype(np.float32)
    client.upsert(name, np.arange(count), vectors)


def test_a_put_set_leaves_its_points_out_under_must_not(client, name):
    _points(client, name)
    info = client.put_id_set(name, "seen", np.arange(0, 50, 2), ttl_seconds=600)
    assert info.name == "seen" and info.count == 25 and info.bytes > 0
    assert info.expires_at is not None and info.expires_at > time.time() + 500

    hits = client.search(name, [0.0, 0.0], k=10, filter=Filter(must_not=[InIdSet("seen")]))
    assert list(hits.ids) == list(range(1, 20, 2))
    assert client.count(name, filter=Filter(must=[InIdSet("seen")])) == 25
    assert [s.name for s in client.list_id_sets(name)] == ["seen"]


def test_a_deleted_or_expired_set_is_not_found(client, name):
    _points(client, name)
    client.put_id_set(name, "gone", [1, 2])
    client.put_id_set(name, "short", [3], ttl_seconds=1)
    assert client.delete_id_set(name, "gone") is True
    assert client.delete_id_set(name, "gone") is False
    with pytest.raises(NotFoundError, match="id set 'gone'"):
        client.count(name, filter=Filter(must_not=[InIdSet("gone")]))
    time.sleep(1.2)
    with pytest.raises(NotFoundError, match="id set 'short'"):
        client.search(name, [0.0, 0.0], k=5, filter=Filter(must_not=[InIdSet("short")]))
    assert client.list_id_sets(name) == []


def test_a_bad_name_is_refused(client, name):
    _points(client, name)
    with pytest.raises(InvalidArgumentError, match="name is empty"):
        client.put_id_set(name, "", [1])
    with pytest.raises(InvalidArgumentError, match="id_set.name"):
        client.count(name, filter=Filter(must=[InIdSet("no spaces")]))
