"""The bound on costly guest calls running at once: per client address (429 at once) and in total (a short wait,
then 503), both with Retry-After; slots come back however a call ends."""

from __future__ import annotations

import asyncio
import time

import pytest

from erpnext_medusa.domain.errors import ServiceUnavailableError, TooManyRequestsError
from erpnext_medusa.web.slots import SearchSlots


async def _hold(slots: SearchSlots, client: str, release: asyncio.Event, entered: asyncio.Event | None = None) -> None:
    async with slots.hold(client):
        if entered is not None:
            entered.set()
        await release.wait()


async def _holding(slots: SearchSlots, *clients: str) -> tuple[asyncio.Event, list[asyncio.Task[None]]]:
    """Tasks that each hold a slot for one of ``clients`` until the event is set."""
    release = asyncio.Event()
    tasks = []
    for client in clients:
        entered = asyncio.Event()
        tasks.append(asyncio.create_task(_hold(slots, client, release, entered)))
        await asyncio.wait_for(entered.wait(), 1)
    return release, tasks


def test_a_client_over_its_share_is_told_to_slow_down_at_once_while_others_get_in():
    async def scenario() -> None:
        slots = SearchSlots(total=4, per_client=2, wait=5)
        release, tasks = await _holding(slots, "a", "a")
        started = time.monotonic()
        with pytest.raises(TooManyRequestsError) as refused:
            async with slots.hold("a"):
                pass
        assert time.monotonic() - started < 0.5  # no wait for a client over its share
        assert (refused.value.http_status, refused.value.retry_after) == (429, 1)
        async with slots.hold("b"):
            pass
        release.set()
        await asyncio.gather(*tasks)
        async with slots.hold("a"), slots.hold("a"):  # its share is back
            pass

    asyncio.run(scenario())


def test_when_every_slot_is_taken_a_call_waits_briefly_then_is_told_to_come_back():
    async def scenario() -> None:
        slots = SearchSlots(total=2, per_client=2, wait=0.2)
        release, tasks = await _holding(slots, "a", "b")
        started = time.monotonic()
        with pytest.raises(ServiceUnavailableError) as busy:
            async with slots.hold("c"):
                pass
        assert 0.15 < time.monotonic() - started < 1
        assert (busy.value.http_status, busy.value.retry_after) == (503, 1)
        assert busy.value.message == "The service is busy with other searches; try again in a moment."
        release.set()
        await asyncio.gather(*tasks)
        async with slots.hold("c"), slots.hold("c"):  # the refused call kept nothing
            pass

    asyncio.run(scenario())


def test_a_waiting_call_gets_the_slot_that_frees_up_within_the_wait():
    async def scenario() -> None:
        slots = SearchSlots(total=1, per_client=1, wait=2)
        release, tasks = await _holding(slots, "a")
        asyncio.get_running_loop().call_later(0.1, release.set)
        started = time.monotonic()
        async with slots.hold("b"):
            assert 0.05 < time.monotonic() - started < 1
        await asyncio.gather(*tasks)

    asyncio.run(scenario())


def test_slots_come_back_when_a_call_fails_or_is_cancelled():
    async def scenario() -> None:
        slots = SearchSlots(total=1, per_client=1, wait=0.1)
        with pytest.raises(RuntimeError):
            async with slots.hold("a"):
                raise RuntimeError("the search failed")
        _release, (task,) = await _holding(slots, "a")
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        for client in ("a", "b"):  # both the client's share and the total are free again
            async with slots.hold(client):
                pass

    asyncio.run(scenario())


def test_a_client_waiting_for_a_slot_counts_toward_its_share():
    async def scenario() -> None:
        slots = SearchSlots(total=1, per_client=2, wait=1)
        release, holders = await _holding(slots, "x")
        waiting = asyncio.create_task(_hold(slots, "a", release))
        other = asyncio.create_task(_hold(slots, "a", release))
        await asyncio.sleep(0.05)
        with pytest.raises(TooManyRequestsError):  # two calls of "a" already in line
            async with slots.hold("a"):
                pass
        release.set()
        await asyncio.gather(*holders, waiting, other)

    asyncio.run(scenario())
