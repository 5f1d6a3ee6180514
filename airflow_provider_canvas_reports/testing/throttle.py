"""Canvas's request throttle (canvas-lms ``app/middleware/request_throttle.rb``): a leaky bucket per client.

The client is the access token (else the IP address). Each request first adds an up-front cost
(Canvas: 50) to its bucket and is refused when the bucket is then at or above the high-water mark
(600); once answered, the up-front cost is replaced by what the request really cost (Canvas: its
CPU and database seconds). The bucket leaks (Canvas: 10 units a second) and never holds more than
its maximum (800). So a client making requests one after another is rarely refused, while one
with a dozen requests in flight at once fills the bucket with their up-front costs and is refused
until some finish: the pre-flight cost of concurrency that throttles a wide fan-out.
"""

from __future__ import annotations

from dataclasses import dataclass

THROTTLED_BODY = b"403 Forbidden (Rate Limit Exceeded)\n"
THROTTLED_429_BODY = b"429 Too Many Requests (Rate Limit Exceeded)\n"


@dataclass
class _Bucket:
    level: float = 0.0
    touched: float = 0.0


@dataclass(frozen=True)
class BucketSettings:
    """Canvas's ``request_throttle.*`` settings, with its defaults."""

    high_water: float = 600.0
    maximum: float = 800.0
    leak_rate: float = 10.0
    up_front_cost: float = 50.0


class LeakyBucketThrottle:
    """Buckets keyed by client identifier, leaking and filling as canvas-lms's Lua script does."""

    def __init__(self) -> None:
        self._buckets: dict[str, _Bucket] = {}

    def _increment(self, client: str, amount: float, settings: BucketSettings, now: float) -> _Bucket:
        """Leak the bucket up to ``now``, then add ``amount``, keeping it within ``[0, maximum]``."""
        bucket = self._buckets.get(client)
        if bucket is None:
            bucket = self._buckets[client] = _Bucket(0.0, now)
        elapsed = now - bucket.touched
        if elapsed > 0:
            bucket.level = max(0.0, bucket.level - elapsed * settings.leak_rate)
            bucket.touched = now
        bucket.level = min(settings.maximum, max(0.0, bucket.level + amount))
        return bucket

    def reserve(self, client: str, settings: BucketSettings, now: float) -> bool:
        """Add the up-front cost; whether the request may proceed (the bucket is not full)."""
        return self._increment(client, settings.up_front_cost, settings, now).level < settings.high_water

    def settle(self, client: str, cost: float, settings: BucketSettings, now: float) -> float:
        """Replace the up-front cost by the real ``cost``; return the remaining capacity."""
        bucket = self._increment(client, cost - settings.up_front_cost, settings, now)
        return settings.high_water - bucket.level

    def set_remaining(self, client: str, remaining: float, settings: BucketSettings, now: float) -> None:
        """Force the bucket so that ``high_water - level == remaining`` (``level`` may pass ``maximum``)."""
        self._buckets[client] = _Bucket(settings.high_water - remaining, now)

    def remaining(self, client: str, settings: BucketSettings, now: float) -> float:
        """The capacity left to ``client`` now (what ``X-Rate-Limit-Remaining`` would say)."""
        return settings.high_water - self._increment(client, 0.0, settings, now).level

    def clear(self) -> None:
        """Empty every bucket."""
        self._buckets.clear()


def format_float(value: float) -> str:
    """Format like Ruby's ``Float#to_s`` for the values seen here (``599.5``, ``600.0``)."""
    return repr(round(float(value), 6))
