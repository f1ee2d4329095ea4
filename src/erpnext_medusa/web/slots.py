"""How many costly guest calls (searches) one process runs at once: in total, and per client address.

The bound sits below the connection pool and the thread pool, so however many slow searches arrive, writes,
``ping`` and API-key callers still find a thread and a connection. A client over its own share is told to slow
down (429); when every slot is taken a call waits briefly for one, then is told to come back (503). Both carry
``Retry-After``.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from erpnext_medusa.domain.errors import ServiceUnavailableError, TooManyRequestsError

_BUSY = "The service is busy with other searches; try again in a moment."


class SearchSlots:
    def __init__(
        self, total: int, per_client: int, wait: float, waiting: Callable[[int], None] = lambda _delta: None
    ) -> None:
        self.per_client = per_client
        self.wait = wait
        self._waiting = waiting  # told of each call that starts or stops waiting for a slot
        self._free = asyncio.Semaphore(total)
        self._held: Counter[str] = Counter()

    @asynccontextmanager
    async def hold(self, client: str) -> AsyncIterator[None]:
        if self._held[client] >= self.per_client:
            raise TooManyRequestsError(1, reason="searches_per_client")
        self._held[client] += 1
        try:
            await self._acquire()
            try:
                yield
            finally:
                self._free.release()
        finally:
            self._held[client] -= 1
            if not self._held[client]:
                del self._held[client]

    async def _acquire(self) -> None:
        if not self._free.locked():  # a slot is free: taken at once, without wait_for's task
            await self._free.acquire()
            return
        self._waiting(1)
        try:
            await asyncio.wait_for(self._free.acquire(), self.wait)
        except TimeoutError:
            raise ServiceUnavailableError(_BUSY, reason="searches_busy") from None
        finally:
            self._waiting(-1)
