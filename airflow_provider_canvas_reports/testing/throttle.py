"""Canvas's request throttle: a leaky bucket per client (token, else IP address)."""

from __future__ import annotations

from dataclasses import dataclass

THROTTLED_BODY = b"403 Forbidden (Rate Limit Exceeded)\n"
THROTTLED_429_BODY = b"429 Too Many Requests (Rate Limit Exceeded)\n"


@dataclass
class _Bucket:
    level: float = 0.0
    touched: float = 0.0


class LeakyBucketThrottle:
    """Buckets keyed by client identifier.

    A request is refused when its cost no longer fits under the high-water mark. Canvas checks
    ``level >= high_water`` after reserving 50 units up front, which refuses requests once fewer than
    50 units remain; with the emulator's default ``up_front_cost`` of 0 it refuses them once fewer than
    ``request_cost`` units remain, so ``set_rate_limit_remaining(token, 0)`` throttles the next request.
    """

    def __init__(self) -> None:
        self._buckets: dict[str, _Bucket] = {}

    def _bucket(self, client: str, now: float, leak_rate: float) -> _Bucket:
        bucket = self._buckets.get(client)
        if bucket is None:
            bucket = self._buckets[client] = _Bucket(0.0, now)
        elapsed = now - bucket.touched
        if elapsed > 0:
            bucket.level = max(0.0, bucket.level - elapsed * leak_rate)
            bucket.touched = now
        return bucket

    def reserve(
        self, client: str, up_front: float, cost: float, high_water: float, leak_rate: float, now: float
    ) -> bool:
        """Add the up-front cost, then tell whether the request may proceed (its cost still fits)."""
        bucket = self._bucket(client, now, leak_rate)
        bucket.level += up_front
        return bucket.level + cost <= high_water

    def settle(
        self, client: str, cost: float, up_front: float, high_water: float, leak_rate: float, now: float
    ) -> float:
        """Replace the up-front cost by the real cost; return the remaining capacity."""
        bucket = self._bucket(client, now, leak_rate)
        bucket.level = max(0.0, bucket.level + cost - up_front)
        return high_water - bucket.level

    def set_remaining(self, client: str, remaining: float, high_water: float, now: float) -> None:
        """Force the bucket so that ``high_water - level == remaining``."""
        self._buckets[client] = _Bucket(high_water - remaining, now)

    def clear(self) -> None:
        """Empty every bucket."""
        self._buckets.clear()


def format_float(value: float) -> str:
    """Format like Ruby's ``Float#to_s`` for the values seen here (``599.5``, ``600.0``)."""
    return repr(round(float(value), 6))
