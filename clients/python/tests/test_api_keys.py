"""The API key goes with every call as "authorization: Bearer KEY"; the server's refusals are typed errors."""

from __future__ import annotations

import grpc
import numpy as np
import pytest

import annserver
from conftest import API_KEYS


def test_a_key_with_the_role_is_accepted_and_one_without_it_is_permission_denied(secured_server, name):
    with annserver.Client(secured_server.address, api_key=API_KEYS["admin"]) as admin:
        admin.create_collection(name, dimension=2)
        admin.upsert(name, [1], [[0.5, 0.5]])
    with annserver.Client(secured_server.address, api_key=API_KEYS["read"]) as reader:
        assert reader.search(name, [0.5, 0.5], k=1).ids.tolist() == [1]
        with pytest.raises(annserver.PermissionDeniedError) as raised:
            reader.upsert(name, [2], np.zeros((1, 2)))
        assert raised.value.code == grpc.StatusCode.PERMISSION_DENIED
        assert "write" in raised.value.details


def test_no_key_or_an_unknown_key_is_unauthenticated(secured_server):
    for key in (None, "not-a-key"):
        with annserver.Client(secured_server.address, api_key=key) as stranger:
            with pytest.raises(annserver.UnauthenticatedError):
                stranger.list_collections()
