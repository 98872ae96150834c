"""Python client of AnnServer, the approximate-nearest-neighbour vector index server (gRPC API ann.v1).

    from annserver import Client, Filter, Match, Range
    with Client("127.0.0.1:50051") as client:
        client.create_collection("items", dimension=16, metric="l2")
        client.upsert("items", ids, vectors, payloads=[{"color": "red", "price": 12.5}, ...])
        hits = client.search("items", query, k=10, filter=Filter(must=[Match("color", "red"), Range("price", lt=50)]))
        hits.ids, hits.distances   # numpy int64 and float32
        liked = client.recommend("items", positive=[17, 42], negative=[7], k=10, strategy="best_score")
        per_creator = client.search("items", query, group_by="creator", group_size=2, groups=5)
"""

from .client import Client
from .errors import (AbortedError, AlreadyExistsError, AnnServerError, DeadlineExceededError, FailedPreconditionError,
                     InvalidArgumentError, NotFoundError, PermissionDeniedError, ResourceExhaustedError,
                     UnauthenticatedError, UnavailableError)
from .payload import integer_list, keyword_list
from .filters import Filter, HasId, HasLabel, InIdSet, IsEmpty, IsNull, Match, Range
from .results import (BatchSearchResult, DeleteResult, Group, GroupedResult, IdSetInfo, PayloadWriteResult, Points,
                      RecommendResult, SearchResult, UpsertResult)
from .retry import NO_RETRY, RetryPolicy

__version__ = "0.1.0"

__all__ = [
    "Client", "RetryPolicy", "NO_RETRY", "keyword_list", "integer_list",
    "Filter", "Match", "Range", "IsNull", "IsEmpty", "HasId", "HasLabel", "InIdSet", "IdSetInfo",
    "SearchResult", "BatchSearchResult", "RecommendResult", "Group", "GroupedResult", "Points", "UpsertResult", "DeleteResult", "PayloadWriteResult",
    "AnnServerError", "InvalidArgumentError", "NotFoundError", "AlreadyExistsError", "ResourceExhaustedError",
    "FailedPreconditionError", "AbortedError", "UnavailableError", "DeadlineExceededError", "PermissionDeniedError",
    "UnauthenticatedError",
]
