"""The generated ann.v1 modules (clients/python/generate.py writes them from protos/)."""

try:
    from ._generated.ann.v1 import (cluster_pb2, cluster_pb2_grpc, collections_pb2, collections_pb2_grpc, id_sets_pb2,
                                    vectors_pb2, vectors_pb2_grpc)
except ImportError as error:  # pragma: no cover - a checkout without the generated code
    raise ImportError("annserver's generated protobuf modules are missing: run `python3 clients/python/generate.py` "
                      "(needs Debian's protobuf-compiler and protobuf-compiler-grpc)") from error

__all__ = ["cluster_pb2", "cluster_pb2_grpc", "collections_pb2", "collections_pb2_grpc", "id_sets_pb2", "vectors_pb2",
           "vectors_pb2_grpc"]
