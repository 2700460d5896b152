"""Task records, their store, progress/ETA, and the runner driven directly."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from agent_fakes import Gate, gate_spec
from hypothesis import given
from hypothesis import strategies as st

from teeth_agent.backend.memory import ManualClock
from teeth_agent.backend.null import NullBackend
from teeth_agent.commands.registry import error_payload
from teeth_agent.errors import Busy, Internal, InvalidParams
from teeth_agent.tasks.context import TaskContext
from teeth_agent.tasks.outbox import StatusOutbox
from teeth_agent.tasks.progress import ProgressThrottle, RateEstimator
from teeth_agent.tasks.records import RecordError, TaskRecord, TaskState
from teeth_agent.tasks.runner import TaskRunner
from teeth_agent.tasks.spec import TaskSpec
from teeth_agent.tasks.store import JsonFileStore, MemoryStore


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(1000.0, epoch=1_700_000_000.0)


@pytest.fixture
def backend(clock: ManualClock) -> NullBackend:
    return NullBackend(clock=clock)


# -- records and store -------------------------------------------------------------------------------


def test_record_lifecycle_takes_a_new_seq_per_status_and_percent_never_drops() -> None:
    rec = TaskRecord("t", "m", started_at=1.0)
    rec = rec.progressed(50.0, 10.0).progressed(20.0, None)
    assert (rec.seq, rec.percent) == (3, 50.0)
    final = rec.failed({"type": "busy", "msg": "no"}, 5.0)
    assert final.status_params() == {
        "task_id": "t", "method": "m", "seq": 4, "state": "error", "msg": "no",
        "error": {"type": "busy", "msg": "no"},
    }  # fmt: skip
    with pytest.raises(ValueError, match="already error"):
        final.progressed(60.0, None)
    assert final.acknowledged().seq == final.seq


def test_store_round_trips_any_task_id_and_moves_corrupt_files_aside(tmp_path: Path) -> None:
    store = JsonFileStore(tmp_path)
    weird = TaskRecord("../../etc/passwd \n ✓", "m", started_at=1.0).completed({"k": [1]}, 2.0)
    store.save(weird)
    store.save(weird.acknowledged())
    (store.directory / "junk.json").write_text("{not json")
    (store.directory / "bad.json").write_text(json.dumps({"task_id": "x", "state": "sleeping"}))
    assert store.load() == [weird.acknowledged()]
    assert sorted(p.name for p in store.directory.iterdir() if p.suffix == ".corrupt") == [
        "bad.corrupt",
        "junk.corrupt",
    ]
    assert not list(store.directory.glob(".*.tmp"))
    store.delete(weird.task_id)
    assert store.load() == []


def test_record_from_json_names_the_bad_field() -> None:
    good = TaskRecord("t", "m").to_json()
    with pytest.raises(RecordError, match="seq"):
        TaskRecord.from_json({**good, "seq": "7"})
    with pytest.raises(RecordError, match="acked"):
        TaskRecord.from_json({**good, "acked": None})


# -- progress ------------------------------------------------------------------------------------------


def test_throttle_sends_on_change_at_most_every_second_and_holds_the_rest() -> None:
    t = ProgressThrottle(0.0)
    assert t.observe(10, 100, 0.2) is None  # too soon after start
    assert t.observe(20, 100, 0.5) is None
    sent = t.tick(1.0)
    assert sent is not None and sent.percent == 20.0  # the held change goes out once allowed
    assert t.tick(2.0) is None  # nothing new
    assert t.observe(30, 100, 2.5) is not None


def test_throttle_keeps_talking_every_ten_seconds_while_stalled() -> None:
    t = ProgressThrottle(0.0)
    t.observe(50, 100, 1.0)
    assert [now for now in range(2, 40) if t.tick(float(now)) is not None] == [11, 21, 31]


def test_throttle_says_when_it_next_has_something_to_send() -> None:
    t = ProgressThrottle(0.0)
    assert not t.holding and t.due_in(3.0) == 7.0  # nothing new: the keep-alive at 10 s
    assert t.observe(5, 100, 0.5) is None and t.holding
    assert t.due_in(0.5) == 0.5  # the held change may go at 1 s
    assert t.tick(1.0) is not None and not t.holding and t.due_in(1.0) == 10.0


def test_eta_comes_from_the_measured_rate() -> None:
    t = ProgressThrottle(0.0)
    assert t.current().eta is None  # nothing measured yet: no guess
    for now in range(1, 21):
        t.observe(now * 5.0, 1000.0, float(now))  # 5 units/s
    assert t.current().eta == pytest.approx((1000 - 100) / 5.0, rel=0.01)


def test_sends_are_paced_on_the_wire_clock_and_the_eta_is_in_hardware_seconds() -> None:
    # A simulated machine: its hardware clock runs 1000x faster than the loop's.
    t = ProgressThrottle(0.0, hw_start=0.0)
    sent = []
    for step in range(1, 41):
        now = step / 10
        for update in (t.observe(step, 100.0, now, now * 1000.0), t.tick(now, now * 1000.0)):
            if update is not None:
                sent.append((now, update))
    assert [now for now, _ in sent] == [1.0, 2.0, 3.0, 4.0]  # once a wire second, not 1000x
    last = sent[-1][1]
    assert last.eta == pytest.approx((100 - 40) / (1 / 100.0), rel=0.01)  # 1 unit per 100 hardware s


def test_rate_decays_when_progress_stops() -> None:
    r = RateEstimator(0.0, half_life=10.0)
    r.observe(100.0, 10.0)
    r.observe(100.0, 20.0)
    assert r.rate == pytest.approx(5.0)


@given(st.lists(st.tuples(st.floats(-10, 2000), st.floats(0.01, 5)), max_size=60), st.floats(1, 1000))
def test_percent_never_goes_backwards_and_stays_in_range(
    steps: list[tuple[float, float]], total: float
) -> None:
    t, now, last = ProgressThrottle(0.0), 0.0, 0.0
    for done, dt in steps:
        now += dt
        for update in (t.observe(done, total, now), t.tick(now)):
            if update is not None:
                assert last <= update.percent <= 100.0
                assert update.eta is None or update.eta >= 0
                last = update.percent


# -- runner --------------------------------------------------------------------------------------------


class Sink:
    def __init__(self, watch: str = "x") -> None:
        self.seen: list[TaskRecord] = []
        self.watch = watch
        self.finished = asyncio.Event()

    def __call__(self, rec: TaskRecord) -> None:
        self.seen.append(rec)
        if rec.final and rec.task_id == self.watch:
            self.finished.set()


def make_runner(backend: NullBackend, store: Any, sink: Sink, tmp_path: Path) -> TaskRunner:
    return TaskRunner(
        backend=backend, store=store, state_dir=tmp_path, to_error=error_payload, on_status=sink
    )


async def test_runner_validates_before_busy_and_never_runs_twice(
    backend: NullBackend, tmp_path: Path
) -> None:
    gate, sink, store = Gate(), Sink(watch="a"), MemoryStore()
    runner = make_runner(backend, store, sink, tmp_path)
    async with runner.running():
        spec = gate_spec(gate)
        assert runner.start(spec, {"task_id": "a"}) == {"task_id": "a", "state": "running"}
        await gate.started.wait()
        with pytest.raises(InvalidParams, match="size"):
            runner.start(spec, {"task_id": "b", "size": 0})
        with pytest.raises(Busy):
            runner.start(spec, {"task_id": "b"})
        with pytest.raises(InvalidParams, match=r"already used by a test\.gate task"):
            runner.start(gate_spec(gate, method="test.other"), {"task_id": "a"})
        reader = gate_spec(Gate(), method="test.read", mutating=False)
        assert runner.start(reader, {"task_id": "r"})["state"] == "running"  # non-mutating tasks are not busy
        assert runner.start(spec, {"task_id": "a"})["state"] == "running"
        gate.release.set()
        await sink.finished.wait()
        assert gate.runs == 1 and runner.start(spec, {"task_id": "a"})["state"] == "complete"
    a = [r for r in sink.seen if r.task_id == "a"]
    assert [r.seq for r in a] == list(range(1, len(a) + 1))
    assert {r.task_id: r.state for r in store.load()}["a"] is TaskState.COMPLETE


async def test_start_is_refused_until_run_has_begun_and_works_once_it_says_so(
    backend: NullBackend, tmp_path: Path
) -> None:
    runner = make_runner(backend, MemoryStore(), Sink(), tmp_path)
    reader = gate_spec(Gate(), method="test.read", mutating=False)
    with pytest.raises(Internal, match="not running"):
        runner.start(reader, {"task_id": "early"})
    async with runner.running():
        assert runner.start(reader, {"task_id": "r"})["state"] == "running"
    with pytest.raises(Internal, match="not running"):
        runner.start(reader, {"task_id": "late"})


async def test_runner_turns_exceptions_into_error_statuses(backend: NullBackend, tmp_path: Path) -> None:
    async def explode(ctx: TaskContext, parsed: object) -> dict[str, Any]:
        raise KeyError("secret internals")

    sink = Sink()
    runner = make_runner(backend, MemoryStore(), sink, tmp_path)
    async with runner.running():
        runner.start(TaskSpec("test.boom", validate=lambda p: None, run=explode), {"task_id": "x"})
        await sink.finished.wait()
    final = sink.seen[-1]
    assert final.state is TaskState.ERROR and final.error is not None
    assert final.error["type"] == "internal" and "secret" not in final.error["msg"]


async def test_progress_from_a_worker_thread_reaches_the_record(clock: ManualClock, tmp_path: Path) -> None:
    sink = Sink()
    reported = asyncio.Event()

    def on_status(rec: TaskRecord) -> None:
        sink(rec)
        if rec.percent > 0:
            reported.set()

    async def threaded(ctx: TaskContext, parsed: object) -> dict[str, Any]:
        await asyncio.to_thread(ctx.progress, 30, 100)
        async with asyncio.timeout(10):
            await reported.wait()  # the runner's reporter sends it once min_interval (loop time) passed
        return {}

    runner = TaskRunner(
        backend=NullBackend(clock=clock), store=MemoryStore(), state_dir=tmp_path, to_error=error_payload,
        on_status=on_status,
    )  # fmt: skip
    async with runner.running():
        runner.start(TaskSpec("test.thread", validate=lambda p: None, run=threaded), {"task_id": "x"})
        await sink.finished.wait()
    assert max(r.percent for r in sink.seen) == 30.0 and sink.seen[-1].state is TaskState.COMPLETE


class HwClock:
    """A hardware clock the task moves by hand; it remembers every sleep anyone asked of it."""

    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def time(self) -> float:
        return 1_700_000_000.0 + self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        await asyncio.sleep(0)


async def test_runner_paces_progress_on_loop_time_and_measures_eta_on_the_hardware_clock(
    tmp_path: Path,
) -> None:
    hw, sink, reported = HwClock(), Sink(), asyncio.Event()

    def on_status(rec: TaskRecord) -> None:
        sink(rec)
        if rec.percent >= 20:
            reported.set()

    async def erase(ctx: TaskContext, parsed: object) -> dict[str, Any]:
        for done in (10, 20):
            hw.now += 1000.0  # 10 units per 1000 hardware seconds, however fast the wall goes
            ctx.progress(done, 100)
        async with asyncio.timeout(10):
            await reported.wait()
        return {}

    runner = TaskRunner(
        backend=NullBackend(clock=hw), store=MemoryStore(), state_dir=tmp_path, to_error=error_payload,
        on_status=on_status, min_interval=0.05, max_interval=0.5,
    )  # fmt: skip
    async with runner.running():
        runner.start(TaskSpec("test.erase", validate=lambda p: None, run=erase), {"task_id": "x"})
        await sink.finished.wait()
    running = [r for r in sink.seen if r.state is TaskState.RUNNING and r.percent == 20.0]
    assert running and running[0].eta == pytest.approx(8000.0)  # (100 - 20) / (10 / 1000) hardware s
    assert hw.slept == []  # the ticker never sleeps on the hardware's clock
    assert sink.seen[-1].state is TaskState.COMPLETE and sink.seen[-1].finished_at == hw.time()


async def test_after_ack_hook_waits_for_the_acknowledgement_and_holds_the_busy_slot(
    backend: NullBackend, tmp_path: Path
) -> None:
    acted: list[dict[str, Any]] = []
    done = asyncio.Event()

    async def act(b: Any, result: Any) -> None:
        acted.append(dict(result))
        done.set()

    async def boot(ctx: TaskContext, parsed: object) -> dict[str, Any]:
        return {"action": "kexec"}

    sink, store = Sink(), MemoryStore()
    runner = TaskRunner(
        backend=backend, store=store, state_dir=tmp_path, to_error=error_payload, on_status=sink,
        after_ack={"test.boot": act},
    )  # fmt: skip
    async with runner.running():
        runner.start(TaskSpec("test.boot", validate=lambda p: None, run=boot), {"task_id": "x"})
        await sink.finished.wait()
        for _ in range(5):
            await asyncio.sleep(0)
        assert acted == []  # no acknowledgement yet: nothing happens to the machine
        with pytest.raises(Busy):
            runner.start(gate_spec(Gate()), {"task_id": "y"})
        final = sink.seen[-1]
        runner.acknowledge("x", final.seq - 1)  # an older seq acknowledges nothing
        runner.acknowledge("x", final.seq)
        async with asyncio.timeout(10):
            await done.wait()  # the hook returned and freed the busy slot in the step that set `done`
        assert acted == [{"action": "kexec"}] and runner.active is None


async def test_after_ack_hook_acts_anyway_when_no_ack_comes(backend: NullBackend, tmp_path: Path) -> None:
    acted = asyncio.Event()

    async def act(b: Any, result: Any) -> None:
        acted.set()

    store = MemoryStore()
    store.save(TaskRecord("x", "test.boot", started_at=1.0).completed({"action": "reboot"}, 2.0))
    runner = TaskRunner(
        backend=backend, store=store, state_dir=tmp_path, to_error=error_payload, on_status=Sink(),
        after_ack={"test.boot": act}, ack_timeout=0.01,
    )  # fmt: skip
    runner.recover()  # a restart found the complete status unacknowledged
    async with runner.running():
        async with asyncio.timeout(10):
            await acted.wait()


# -- outbox ------------------------------------------------------------------------------------------


async def test_outbox_keeps_only_the_newest_status_and_acknowledges_finals() -> None:
    outbox = StatusOutbox()
    rec = TaskRecord("t", "m")
    outbox.put(rec.progressed(10, None))
    outbox.put(rec.progressed(10, None).progressed(20, None))
    outbox.put(rec)  # an older seq never replaces a newer one
    sent: list[dict[str, Any]] = []
    delivered: list[TaskRecord] = []
    first, done = asyncio.Event(), asyncio.Event()

    async def send(params: dict[str, Any]) -> bool:
        sent.append(params)
        first.set()
        if params["state"] != "running":
            done.set()
        return True

    def on_delivered(r: TaskRecord) -> None:
        delivered.append(r)

    pump = asyncio.create_task(outbox.pump(send, on_delivered))
    await first.wait()  # the newest running status went out before the final one is queued
    final = rec.progressed(20, None).completed({}, 1.0)
    outbox.put(final)
    await done.wait()
    pump.cancel()
    await asyncio.gather(pump, return_exceptions=True)
    assert [(p["seq"], p["state"]) for p in sent] == [(3, "running"), (final.seq, "complete")]
    assert delivered == [final] and outbox.pending() == []


async def test_outbox_keeps_what_failed_to_go_out() -> None:
    outbox = StatusOutbox()
    final = TaskRecord("t", "m").completed({}, 1.0)
    outbox.put(final)

    async def broken(params: dict[str, Any]) -> bool:
        raise ConnectionResetError("gone")

    with pytest.raises(ConnectionResetError):
        await outbox.pump(broken, lambda r: None)
    assert outbox.pending() == [final]


async def test_outbox_retries_a_status_that_got_no_answer() -> None:
    outbox = StatusOutbox()
    final = TaskRecord("t", "m").completed({}, 1.0)
    outbox.put(final)
    attempts: list[int] = []
    delivered = asyncio.Event()

    async def flaky(params: dict[str, Any]) -> bool:
        attempts.append(params["seq"])
        if len(attempts) == 1:
            raise TimeoutError
        return True

    pump = asyncio.create_task(outbox.pump(flaky, lambda r: delivered.set(), retry_after=0.01))
    async with asyncio.timeout(10):
        await delivered.wait()
    pump.cancel()
    await asyncio.gather(pump, return_exceptions=True)
    assert attempts == [final.seq, final.seq] and outbox.pending() == []


async def test_a_result_too_big_for_one_line_becomes_an_error(backend: NullBackend, tmp_path: Path) -> None:
    async def huge(ctx: TaskContext, parsed: object) -> dict[str, Any]:
        return {"blob": "x" * (2 << 20)}

    sink = Sink()
    runner = make_runner(backend, MemoryStore(), sink, tmp_path)
    async with runner.running():
        runner.start(TaskSpec("test.huge", validate=lambda p: None, run=huge), {"task_id": "x"})
        await sink.finished.wait()
    final = sink.seen[-1]
    assert final.error is not None and final.error["type"] == "result_too_large"
    assert final.brief() == {
        "task_id": "x", "method": "test.huge", "seq": final.seq, "state": "error", "percent": 0.0,
        "acked": False, "msg": final.error["msg"],
    }  # fmt: skip
