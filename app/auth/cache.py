"""Keys a process has checked recently, so that a request does not always read its key.

Only keys found active are kept (an unknown key is read again each time), for at most
``ttl`` seconds and at most ``entries`` keys, the least recently used dropped first.
"""

import time
from collections import OrderedDict
from collections.abc import Callable

from app.auth.keys import ActiveKey


class KeyCache:
    def __init__(
        self, ttl: float, entries: int = 1024, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.ttl = ttl
        self.entries = entries
        self.clock = clock
        self._keys: OrderedDict[str, tuple[float, ActiveKey]] = OrderedDict()

    def get(self, digest: str) -> ActiveKey | None:
        found = self._keys.get(digest)
        if found is None:
            return None
        checked_at, key = found
        if self.clock() - checked_at >= self.ttl:
            del self._keys[digest]
            return None
        self._keys.move_to_end(digest)
        return key

    def put(self, digest: str, key: ActiveKey) -> None:
        if self.ttl <= 0:
            return
        self._keys[digest] = (self.clock(), key)
        self._keys.move_to_end(digest)
        while len(self._keys) > self.entries:
            self._keys.popitem(last=False)

    def forget(self, key_id: int) -> None:
        for digest in [d for d, (_, key) in self._keys.items() if key.id == key_id]:
            del self._keys[digest]
