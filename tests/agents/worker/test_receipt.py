"""The partials receipt: an emit waits for its own publish's records, never past its bound."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

import pytest

from agents.worker.receipt import PartialsReceipt


@dataclass(frozen=True)
class Metadata:
    offset: int


def acknowledged(offset: int) -> asyncio.Future[Any]:
    future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
    future.set_result(Metadata(offset))
    return future


def failed() -> asyncio.Future[Any]:
    future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
    future.set_exception(RuntimeError("broker gone"))
    return future


def test_an_offset_already_taken_is_reached_at_once() -> None:
    async def scenario() -> bool:
        receipt = PartialsReceipt()
        receipt.took(7)
        return await receipt.reached(5, timeout=0.0)

    assert asyncio.run(scenario()) is True


def test_an_offset_is_reached_when_the_aggregator_takes_it() -> None:
    async def scenario() -> tuple[bool, int]:
        receipt = PartialsReceipt()

        async def aggregator() -> None:
            for offset in range(4):
                await asyncio.sleep(0.001)
                receipt.took(offset)

        task = asyncio.create_task(aggregator())
        reached = await receipt.reached(3, timeout=5.0)
        await task
        return reached, receipt.taken

    assert asyncio.run(scenario()) == (True, 3)


def test_an_offset_never_taken_gives_up_after_the_timeout() -> None:
    async def scenario() -> bool:
        receipt = PartialsReceipt()
        receipt.took(2)
        return await receipt.reached(3, timeout=0.01)

    assert asyncio.run(scenario()) is False


def test_the_receipt_never_moves_back() -> None:
    receipt = PartialsReceipt()
    receipt.took(9)
    receipt.took(4)
    assert receipt.taken == 9


@pytest.mark.parametrize(
    ("offsets", "taken", "expected"),
    [
        ([], -1, True),
        ([3, 5, 4], 5, True),
        ([3, 5, 4], 4, False),
        ([3], 10, True),
    ],
)
def test_sends_are_taken_once_the_last_of_them_is(
    offsets: list[int], taken: int, expected: bool
) -> None:
    async def scenario() -> bool:
        receipt = PartialsReceipt()
        receipt.took(taken)
        return await receipt.sent_and_taken([acknowledged(o) for o in offsets], timeout=0.01)

    assert asyncio.run(scenario()) is expected


def test_a_failed_send_is_not_waited_for() -> None:
    async def scenario() -> bool:
        receipt = PartialsReceipt()
        receipt.took(100)
        return await receipt.sent_and_taken([acknowledged(1), failed()], timeout=1.0)

    assert asyncio.run(scenario()) is False


def test_an_unacknowledged_send_gives_up_after_the_timeout() -> None:
    async def scenario() -> bool:
        receipt = PartialsReceipt()
        receipt.took(100)
        pending: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        return await receipt.sent_and_taken([pending], timeout=0.01)

    assert asyncio.run(scenario()) is False
