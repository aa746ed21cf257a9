"""Rate limits and a short result cache for the portal, in plain Python (thread-safe).

The portal must not become a way to hammer someone's Canvas server, and a person who
presses Enter twice should not wait twice:

- :class:`RateLimiter` counts events per key in a sliding window (one limiter per
  browser session, one per target origin) and says how long to wait when a key is over.
- :class:`TTLCache` keeps finished reports for a short time (a minute by default) so an
  identical check is answered from memory, and says how old the answer is.

Clocks are injectable (``clock=``) so tests need no sleeping.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict, deque
from dataclasses import dataclass
from typing import Callable, Generic, Hashable, TypeVar

__all__ = ["RateLimiter", "Decision", "TTLCache", "Cached"]

V = TypeVar("V")


@dataclass(frozen=True)
class Decision:
    """The answer of :meth:`RateLimiter.hit`: allowed, or wait ``retry_after`` seconds."""

    allowed: bool
    retry_after: float = 0.0

    def __bool__(self) -> bool:
        return self.allowed


class RateLimiter:
    """At most ``limit`` events per ``window`` seconds for each key (sliding window)."""

    def __init__(self, limit: int, window: float, *, clock: Callable[[], float] = time.monotonic,
                 max_keys: int = 10_000):
        if limit < 1 or window <= 0:
            raise ValueError("limit must be >= 1 and window > 0")
        self.limit = limit
        self.window = window
        self._clock = clock
        self._max_keys = max_keys
        self._events: OrderedDict[Hashable, deque[float]] = OrderedDict()
        self._lock = threading.Lock()

    def _prune(self, key: Hashable, now: float) -> deque[float]:
        events = self._events.get(key)
        if events is None:
            events = self._events[key] = deque()
            while len(self._events) > self._max_keys:  # forget the least recently used key
                self._events.popitem(last=False)
        self._events.move_to_end(key)
        while events and events[0] <= now - self.window:
            events.popleft()
        return events

    def check(self, key: Hashable) -> Decision:
        """Would an event for ``key`` be allowed now? Records nothing."""
        with self._lock:
            now = self._clock()
            events = self._prune(key, now)
            if len(events) < self.limit:
                return Decision(True)
            return Decision(False, max(0.0, events[0] + self.window - now))

    def hit(self, key: Hashable) -> Decision:
        """Record an event for ``key`` if allowed; otherwise say how long to wait."""
        with self._lock:
            now = self._clock()
            events = self._prune(key, now)
            if len(events) < self.limit:
                events.append(now)
                return Decision(True)
            return Decision(False, max(0.0, events[0] + self.window - now))


@dataclass(frozen=True)
class Cached(Generic[V]):
    """A cached value and how many seconds ago it was stored."""

    value: V
    age: float


class TTLCache(Generic[V]):
    """Values kept for ``ttl`` seconds, at most ``max_items`` of them (oldest dropped)."""

    def __init__(self, ttl: float = 60.0, *, max_items: int = 256, clock: Callable[[], float] = time.monotonic):
        self.ttl = ttl
        self._max = max_items
        self._clock = clock
        self._items: OrderedDict[Hashable, tuple[float, V]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> Cached[V] | None:
        with self._lock:
            item = self._items.get(key)
            if item is None:
                return None
            stored, value = item
            age = self._clock() - stored
            if age >= self.ttl:
                del self._items[key]
                return None
            return Cached(value, age)

    def put(self, key: Hashable, value: V) -> None:
        with self._lock:
            self._items[key] = (self._clock(), value)
            self._items.move_to_end(key)
            while len(self._items) > self._max:
                self._items.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()

    def __len__(self) -> int:
        return len(self._items)
