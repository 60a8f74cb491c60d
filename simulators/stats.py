"""Request counting for benchmarks: how many requests a client really sent."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware


@dataclass(slots=True)
class RequestCounter:
    """Requests received, in total and per HTTP method (counted before any fault)."""

    total: int = 0
    by_method: Counter[str] = field(default_factory=Counter)

    def count(self, method: str) -> None:
        self.total += 1
        self.by_method[method] += 1

    def reset(self) -> None:
        self.total = 0
        self.by_method.clear()


def counting_middleware(counter: RequestCounter) -> Middleware:
    """Build an aiohttp middleware that counts every request into `counter`."""

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        counter.count(request.method)
        return await handler(request)

    return middleware
