"""Failed authentications counted per client address (the `limits` library, in memory).

Each process counts its own failures: with N worker processes an address gets at most N
times the rate before every process answers 429.
"""

import math
import time

from limits import RateLimitItem, parse
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter


def parse_rate(rate: str) -> RateLimitItem:
    """A rate such as "20/minute"; ValueError if it is not one."""
    return parse(rate)


class FailedAuthThrottle:
    def __init__(self, rate: str) -> None:
        self.rate = parse_rate(rate)
        self._limiter = MovingWindowRateLimiter(MemoryStorage())

    def retry_after(self, address: str) -> int | None:
        """Seconds until this address may try again, or None if it may now."""
        if self._limiter.test(self.rate, address):
            return None
        reset_at = self._limiter.get_window_stats(self.rate, address).reset_time
        return max(1, math.ceil(reset_at - time.time()))

    def failed(self, address: str) -> None:
        self._limiter.hit(self.rate, address)
