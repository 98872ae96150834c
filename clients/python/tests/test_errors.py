"""Bad input surfaces as AnnServerError with the gRPC code and the server's message; nothing is half-written."""

from __future__ import annotations

import time

import grpc
import numpy as np
import pytest

import annserver
from annserver import (AnnServerError, InvalidArgumentError, NotFoundError, RetryPolicy, UnavailableError,
                       ResourceExhaustedError)


def test_a_vector_of_the_wrong_dimension_is_invalid_argument_and_writes_nothing(client, name):
    client.create_collection(name, dimension=4)
    vectors = np.zeros((3, 4), np.float32)
    with pytest.raises(InvalidArgumentError) as raised:
        client.upsert(name, [1, 2, 3], np.zeros((3, 5)))
    assert raised.value.code == grpc.StatusCode.INVALID_ARGUMENT
    assert "dimension" in raised.value.details and "4" in raised.value.details
    assert isinstance(raised.value, AnnServerError)
    assert client.count(name) == 0
    client.upsert(name, [1, 2, 3], vectors)


def test_a_nan_component_names_the_point(client, name):
    client.create_collection(name, dimension=3)
    vectors = np.ones((3, 3), np.float32)
    vectors[2, 1] = np.nan
    with pytest.raises(InvalidArgumentError, match=r"points\[2\]"):
        client.upsert(name, [1, 2, 3], vectors)
    assert client.count(name) == 0


def test_a_query_of_the_wrong_dimension_is_invalid_argument(client, name):
    client.create_collection(name, dimension=4)
    with pytest.raises(InvalidArgumentError, match="query"):
        client.search(name, np.zeros(3), k=1)
    with pytest.raises(InvalidArgumentError, match="queries"):
        client.search_batch(name, np.zeros((2, 3)), k=1)


def test_k_beyond_the_servers_limit_names_the_limit(client, name):
    client.create_collection(name, dimension=2)
    with pytest.raises(AnnServerError) as raised:
        client.search(name, [0.0, 0.0], k=201)
    assert raised.value.code in (grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.RESOURCE_EXHAUSTED)
    assert "200" in raised.value.details and "k" in raised.value.details


def test_an_unknown_collection_is_not_found(client):
    with pytest.raises(NotFoundError, match="no-such-collection") as raised:
        client.search("no-such-collection", [0.0], k=1)
    assert raised.value.method == "Search"


def test_a_bad_collection_name_is_invalid_argument(client):
    with pytest.raises(InvalidArgumentError, match="name"):
        client.create_collection("bad name!", dimension=2)


def test_a_payload_of_another_kind_names_the_field(client, name):
    client.create_collection(name, dimension=2)
    client.upsert(name, [1], [[0, 0]], payloads=[{"price": 1.5}])
    with pytest.raises(InvalidArgumentError, match="price"):
        client.upsert(name, [2], [[0, 0]], payloads=[{"price": "cheap"}])
    assert client.count(name) == 1


def test_a_payload_beyond_the_size_limit_is_resource_exhausted(server, name):
    with annserver.Client(server.address, retry=annserver.NO_RETRY) as client:
        client.create_collection(name, dimension=2)
        with pytest.raises(ResourceExhaustedError, match="max-payload-bytes"):
            client.upsert(name, [1], [[0, 0]], payloads=[{"text": ["x" * 1000] * 100}])


def test_mistakes_the_client_can_see_fail_before_any_call(client, name):
    with pytest.raises(ValueError, match="rows"):
        client.upsert(name, [1, 2], np.zeros((3, 4)))
    with pytest.raises(ValueError, match="metric"):
        client.create_collection(name, dimension=2, metric="hamming")
    with pytest.raises(TypeError, match="payloads\\[0\\]\\['when'\\]"):
        client.upsert(name, [1], np.zeros((1, 2)), payloads=[{"when": object()}])
    with pytest.raises(ValueError, match="gt, gte, lt, lte"):
        client.count(name, annserver.Filter(must=[annserver.Range("price")]))


def test_unavailable_is_retried_within_the_policy_then_raised():
    with socket_nobody_listens_on() as address:
        policy = RetryPolicy(max_attempts=3, initial_backoff=0.05, max_backoff=0.1)
        with annserver.Client(address, retry=policy, timeout=10) as client:
            start = time.monotonic()
            with pytest.raises(UnavailableError) as raised:
                client.list_collections()
            assert raised.value.code == grpc.StatusCode.UNAVAILABLE
            assert time.monotonic() - start < 5


def test_the_deadline_bounds_the_call_and_its_retries():
    with socket_nobody_listens_on() as address:
        policy = RetryPolicy(max_attempts=1000, initial_backoff=0.05, max_backoff=0.05)
        with annserver.Client(address, retry=policy) as client:
            start = time.monotonic()
            with pytest.raises(AnnServerError) as raised:
                client.list_collections(timeout=0.5)
            assert raised.value.code in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED)
            assert time.monotonic() - start < 3


class socket_nobody_listens_on:
    """A loopback address with a port that was free a moment ago and is closed again."""

    def __enter__(self) -> str:
        import socket

        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            return f"127.0.0.1:{probe.getsockname()[1]}"

    def __exit__(self, *_: object) -> None:
        pass
