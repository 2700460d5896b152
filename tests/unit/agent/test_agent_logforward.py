"""Log forwarding: record shape, task ids from the context, bounded buffer, delivery order."""

from __future__ import annotations

import asyncio
import logging
import threading
from typing import Any

from teeth_agent.logforward import LogForwarder, current_task_id, record_to_params


def _record(msg: str, name: str = "teeth_agent.erase", **extra: Any) -> logging.LogRecord:
    rec = logging.LogRecord(name, logging.INFO, __file__, 1, msg, None, None)
    rec.__dict__.update(extra)
    return rec


def test_record_shape_task_id_and_exception_without_traceback() -> None:
    token = current_task_id.set("task-9")
    try:
        params = record_to_params(_record("erasing", disk="/dev/sda", obj=object()))
    finally:
        current_task_id.reset(token)
    assert params["level"] == "info" and params["msg"] == "erasing" and params["task_id"] == "task-9"
    assert params["fields"]["disk"] == "/dev/sda" and isinstance(params["fields"]["obj"], str)
    try:
        raise ValueError("bad sector")
    except ValueError as exc:
        rec = logging.LogRecord("x", logging.ERROR, __file__, 1, "failed", None, (ValueError, exc, None))
    assert record_to_params(rec)["fields"] == {"exc": "ValueError: bad sector"}
    assert record_to_params(_record("x", task_id="explicit"))["task_id"] == "explicit"


def test_transport_records_are_never_forwarded() -> None:
    fwd = LogForwarder()
    fwd.handle(_record("sent", name="teeth_agent.connection"))
    fwd.handle(_record("dialing", name="teeth_agent.dial"))
    fwd.handle(_record("kept"))
    assert fwd.buffered == 1


def test_buffer_drops_the_oldest_and_counts() -> None:
    fwd = LogForwarder(capacity=2)
    for n in range(5):
        fwd.handle(_record(f"m{n}"))
    assert (fwd.buffered, fwd.dropped) == (2, 3)


async def test_pump_sends_notice_then_records_in_order_including_from_threads() -> None:
    fwd = LogForwarder(capacity=2)
    for n in range(3):
        fwd.handle(_record(f"m{n}"))
    sent: list[dict[str, Any]] = []
    four = asyncio.Event()

    async def send(params: dict[str, Any]) -> None:
        sent.append(params)
        if len(sent) == 4:
            four.set()

    pump = asyncio.create_task(fwd.pump(send))
    await asyncio.sleep(0)
    worker = threading.Thread(target=fwd.handle, args=(_record("from a thread"),))
    worker.start()
    worker.join()
    await four.wait()
    async with asyncio.timeout(10):
        while fwd.buffered:  # noqa: ASYNC110 - a sent batch leaves the buffer once every send returned
            await asyncio.sleep(0)
    pump.cancel()
    await asyncio.gather(pump, return_exceptions=True)
    assert [p["msg"] for p in sent] == [
        "1 log records were dropped while disconnected", "m1", "m2", "from a thread",
    ]  # fmt: skip
    assert fwd.buffered == 0 and fwd.dropped == 0


async def test_a_record_whose_send_failed_is_kept_for_the_next_link() -> None:
    fwd = LogForwarder()
    fwd.handle(_record("keep me"))

    async def broken(params: dict[str, Any]) -> None:
        raise ConnectionResetError

    pump = asyncio.create_task(fwd.pump(broken))
    await asyncio.gather(pump, return_exceptions=True)
    assert fwd.buffered == 1


def test_huge_messages_and_fields_are_clipped() -> None:
    params = record_to_params(_record("m" * 100_000, blob="b" * 100_000))
    assert len(params["msg"]) < 17_000 and params["msg"].endswith("more]")
    assert len(params["fields"]["blob"]) < 17_000
