"""Request counting for benchmarks: how many requests a client really sent."""

from __future__ import annotations

from collections import Counter, deque
from dataclasses import dataclass, field

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware


@dataclass(slots=True)
class RequestCounter:
    """Requests received, in total and per HTTP method (counted before any fault)."""

    total: int = 0
    by_method: Counter[str] = field(default_factory=Counter)
    # The latest requests as (method, decoded path), for tests that check what was asked.
    log: deque[tuple[str, str]] = field(default_factory=lambda: deque(maxlen=1000))

    def count(self, method: str, path: str = "") -> None:
        self.total += 1
        self.by_method[method] += 1
        self.log.append((method, path))

    def reset(self) -> None:
        self.total = 0
        self.by_method.clear()
        self.log.clear()


def counting_middleware(counter: RequestCounter) -> Middleware:
    """Build an aiohttp middleware that counts every request into `counter`."""

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        counter.count(request.method, request.path)
        return await handler(request)

    return middleware
