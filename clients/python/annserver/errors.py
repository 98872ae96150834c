"""The one exception type of the client: a gRPC status from the server (or the channel), with its code and message."""

from __future__ import annotations

import grpc


class AnnServerError(Exception):
    """A call failed. ``code`` is the gRPC status code, ``details`` the server's message (it names the field and the
    limit), ``method`` the RPC that failed."""

    code: grpc.StatusCode = grpc.StatusCode.UNKNOWN

    def __init__(self, code: grpc.StatusCode, details: str, method: str = "") -> None:
        super().__init__(f"{method}: {code.name}: {details}" if method else f"{code.name}: {details}")
        self.code = code
        self.details = details
        self.method = method


class InvalidArgumentError(AnnServerError):
    """INVALID_ARGUMENT: the request can never succeed as written (wrong dimension, NaN, bad name, ...)."""


class NotFoundError(AnnServerError):
    """NOT_FOUND: no such collection or alias."""


class AlreadyExistsError(AnnServerError):
    """ALREADY_EXISTS: the collection or alias name is in use."""


class ResourceExhaustedError(AnnServerError):
    """RESOURCE_EXHAUSTED: a server limit (the message names it), or the server is busy."""


class FailedPreconditionError(AnnServerError):
    """FAILED_PRECONDITION: the collection failed to load, no --import-dir, an alias still names the collection, ..."""


class AbortedError(AnnServerError):
    """ABORTED: SwitchAlias's expected collection is no longer the alias's target."""


class UnavailableError(AnnServerError):
    """UNAVAILABLE: the server is loading, unreachable, or a shard has no live replica."""


class DeadlineExceededError(AnnServerError):
    """DEADLINE_EXCEEDED: the call's deadline passed."""


class PermissionDeniedError(AnnServerError):
    """PERMISSION_DENIED: the API key's role does not allow the call."""


class UnauthenticatedError(AnnServerError):
    """UNAUTHENTICATED: no API key, or an unknown one."""


_BY_CODE: dict[grpc.StatusCode, type[AnnServerError]] = {
    grpc.StatusCode.INVALID_ARGUMENT: InvalidArgumentError,
    grpc.StatusCode.NOT_FOUND: NotFoundError,
    grpc.StatusCode.ALREADY_EXISTS: AlreadyExistsError,
    grpc.StatusCode.RESOURCE_EXHAUSTED: ResourceExhaustedError,
    grpc.StatusCode.FAILED_PRECONDITION: FailedPreconditionError,
    grpc.StatusCode.ABORTED: AbortedError,
    grpc.StatusCode.UNAVAILABLE: UnavailableError,
    grpc.StatusCode.DEADLINE_EXCEEDED: DeadlineExceededError,
    grpc.StatusCode.PERMISSION_DENIED: PermissionDeniedError,
    grpc.StatusCode.UNAUTHENTICATED: UnauthenticatedError,
}


def error_from_rpc(error: grpc.RpcError, method: str) -> AnnServerError:
    """The typed error for a failed call (``grpc.RpcError`` raised by a stub is also a ``grpc.Call``)."""
    code: grpc.StatusCode = error.code() if hasattr(error, "code") else grpc.StatusCode.UNKNOWN  # type: ignore[attr-defined]
    details: str = (error.details() if hasattr(error, "details") else str(error)) or ""  # type: ignore[attr-defined]
    return _BY_CODE.get(code, AnnServerError)(code, details, method)


_CODES: dict[int, grpc.StatusCode] = {code.value[0]: code for code in grpc.StatusCode}


def error_from_code(code: int, details: str, method: str) -> AnnServerError:
    """The typed error for a status carried in a message (a SearchStream's SearchError): its numeric code."""
    status = _CODES.get(code, grpc.StatusCode.UNKNOWN)
    return _BY_CODE.get(status, AnnServerError)(status, details, method)
