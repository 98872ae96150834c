"""When and how long the client waits before calling again."""

from __future__ import annotations

import random
from dataclasses import dataclass, field

import grpc


@dataclass(frozen=True)
class RetryPolicy:
    """Bounded retries with exponential backoff and full jitter. ``max_attempts`` counts the first call (1: never
    retry). Every call of the API is safe to repeat: writes carry the caller's ids (an Upsert or Delete sent twice
    leaves the same state), and a snapshot upload is sent again from its first byte."""

    max_attempts: int = 4
    initial_backoff: float = 0.05
    max_backoff: float = 2.0
    multiplier: float = 2.0
    retry_on: frozenset[grpc.StatusCode] = field(
        default_factory=lambda: frozenset({grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.RESOURCE_EXHAUSTED}))

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError(f"max_attempts must be at least 1, got {self.max_attempts}")
        if self.initial_backoff < 0 or self.max_backoff < self.initial_backoff:
            raise ValueError("backoffs must satisfy 0 <= initial_backoff <= max_backoff")

    def backoff(self, retry: int) -> float:
        """Seconds to wait before retry number ``retry`` (0 for the first retry)."""
        ceiling = min(self.max_backoff, self.initial_backoff * self.multiplier ** retry)
        return random.uniform(0, ceiling)


NO_RETRY = RetryPolicy(max_attempts=1)
