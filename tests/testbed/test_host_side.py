"""Console waits, the guestfwd relay and the image server, without a VM."""

import socket
import threading
import time
import urllib.request
from pathlib import Path

import pytest

from testbed import relay
from testbed.agent_vm import crash_report
from testbed.console import Console, ConsoleWaitError
from testbed.harness import relay_argv, relay_pids
from testbed.services import Hold, LineWaitError, image_server, line_service

pytestmark = pytest.mark.testbed


def test_wait_for_finds_text_after_the_mark(tmp_path: Path) -> None:
    console = Console(tmp_path / "console.log")
    assert console.read() == "" and console.mark() == 0
    console.path.write_text("old MARKER\n")
    mark = console.mark()
    with console.path.open("a") as f:
        f.write("booting\nTEETH-TENANT-UUID=abc-1 device=/dev/vda\n")
    match = console.wait_for(r"TEETH-TENANT-UUID=(\S+)", within=5, what="uuid", start=mark)
    assert match.group(1) == "abc-1"
    with pytest.raises(ConsoleWaitError):
        console.wait_for("MARKER", within=0.3, what="marker", start=mark)


def test_a_timeout_names_what_was_awaited_and_the_log(tmp_path: Path) -> None:
    console = Console(tmp_path / "vm0-console.log")
    console.path.write_text("".join(f"line {i}\n" for i in range(100)))
    with pytest.raises(ConsoleWaitError) as info:
        console.wait_for("handshake", within=0.3, what="vm0: agent handshake")
    message = str(info.value)
    assert "vm0: agent handshake" in message and "'handshake'" in message
    assert str(console.path) in message and "line 99" in message and "line 10\n" not in message


def test_a_stopped_vm_ends_the_wait_at_once(tmp_path: Path) -> None:
    console = Console(tmp_path / "c.log")
    console.path.write_text("Kernel panic - not syncing\n")
    with pytest.raises(ConsoleWaitError, match="the VM stopped"):
        console.wait_for("never", within=3600, what="marker", alive=lambda: False)


async def test_await_for_in_asyncio(tmp_path: Path) -> None:
    console = Console(tmp_path / "c.log")
    console.path.write_text("ready\n")
    assert (await console.await_for("ready", within=5, what="ready")).group(0) == "ready"
    with pytest.raises(ConsoleWaitError, match="waited"):
        await console.await_for("never", within=0.3, what="never")


def test_relay_copies_both_ways_and_passes_end_of_stream() -> None:
    guest_vm, guest_side = socket.socketpair()
    host_side, host_service = socket.socketpair()
    worker = threading.Thread(target=relay.relay, args=(guest_side, host_side))
    worker.start()
    guest_vm.sendall(b"hello from guest\n")
    assert host_service.recv(100) == b"hello from guest\n"
    host_service.sendall(b"hello from host\n")
    assert guest_vm.recv(100) == b"hello from host\n"
    guest_vm.shutdown(socket.SHUT_WR)
    assert host_service.recv(100) == b""
    host_service.close()
    worker.join(timeout=10)
    assert not worker.is_alive()
    for s in (guest_vm, guest_side, host_side):
        s.close()


def test_relay_dials_only_loopback() -> None:
    assert relay.main(["10.0.0.1", "80"]) == 2
    assert relay.main(["127.0.0.1"]) == 2


def test_image_server_serves_files_on_loopback(tmp_path: Path) -> None:
    (tmp_path / "img.raw").write_bytes(b"\x01" * 4096)
    with image_server(tmp_path) as server:
        assert server.url("img.raw").startswith("http://127.0.0.1:")
        assert server.url("img.raw", "10.0.2.101", 8080) == "http://10.0.2.101:8080/img.raw"
        with urllib.request.urlopen(server.url("img.raw"), timeout=10) as resp:
            assert resp.read() == b"\x01" * 4096
        assert any("img.raw" in line for line in server.request_log)
    with pytest.raises(FileNotFoundError, match="not a directory"), image_server(tmp_path / "missing"):
        pass


def test_a_hold_stalls_one_download_part_way_until_released(tmp_path: Path) -> None:
    body = bytes(range(256)) * 64
    (tmp_path / "img.raw").write_bytes(body)
    hold = Hold("img.raw", after_bytes=1000)
    with image_server(tmp_path, hold) as server:
        got: list[bytes] = []

        def fetch() -> None:
            with urllib.request.urlopen(server.url("img.raw"), timeout=30) as resp:
                got.append(resp.read(1000))
                got.append(resp.read())

        reader = threading.Thread(target=fetch)
        reader.start()
        assert hold.reached.wait(10)
        time.sleep(0.2)
        assert reader.is_alive() and got == [body[:1000]]  # stalled after the first bytes
        hold.release()
        reader.join(10)
        assert b"".join(got) == body
        with urllib.request.urlopen(server.url("img.raw"), timeout=10) as resp:
            assert resp.read() == body  # one-shot: the next download is not held


def test_a_forgotten_hold_is_released_when_the_server_stops(tmp_path: Path) -> None:
    (tmp_path / "img.raw").write_bytes(b"\x02" * 4096)
    hold = Hold("img.raw", after_bytes=10)

    def fetch(url: str) -> None:
        with urllib.request.urlopen(url, timeout=30) as resp:
            resp.read()

    with image_server(tmp_path, hold) as server:
        reader = threading.Thread(target=fetch, args=(server.url("img.raw"),))
        reader.start()
        assert hold.reached.wait(10)
    reader.join(10)
    assert not reader.is_alive()


def test_line_service_records_answers_and_bounds_its_wait() -> None:
    with line_service(lambda line: line.upper()) as service:
        with socket.create_connection(("127.0.0.1", service.port), timeout=10) as conn:
            conn.sendall(b"hello\n")
            assert conn.makefile("rb").readline() == b"HELLO\n"
        assert service.wait_line(within=10, what="greeting") == "hello"
    with line_service(None) as quiet:
        with pytest.raises(LineWaitError, match="nothing arrived"):
            quiet.wait_line(within=0.3, what="handshake")
        with pytest.raises(LineWaitError, match="handshake: the VM stopped"):
            quiet.wait_line(within=60, what="handshake", problem=lambda: "the VM stopped")


def test_crash_report_needs_a_traceback_and_then_a_restarted_agent() -> None:
    lines = [
        "[ 40.1] systemd[1]: Started teeth-agent.service",
        "[ 41.0] teeth-agent[216]: Traceback (most recent call last):",
        "[ 41.1] teeth-agent[216]:   File \"agent.py\", line 117, in run",
        "[ 41.1] kernel: unrelated line",
        "[ 41.2] teeth-agent[216]: KeyError: 'decom.qc'",
    ]
    assert crash_report("\n".join(lines)) is None  # a logged traceback (a failed task) is no crash
    lines.append("[ 45.0] teeth-agent[230]: agent TB-1 (linux backend) starting")
    report = crash_report("\n".join(lines))
    assert report is not None
    assert report.splitlines()[0].endswith("Traceback (most recent call last):")
    assert report.splitlines()[-1].endswith("KeyError: 'decom.qc'")
    assert "unrelated" not in report and "[230]" not in report
    assert crash_report("[ 1.0] teeth-agent[5]: connecting to tcp://10.0.2.100:9999") is None


def test_relay_pids_pick_only_relays_to_that_port() -> None:
    relay_cmd = list(relay_argv())
    processes = {10: [*relay_cmd, "127.0.0.1", "9999"], 11: [*relay_cmd, "127.0.0.1", "8080"],
                 12: ["/usr/bin/python3", "other.py", "127.0.0.1", "9999"], 13: [],
                 14: [*relay_cmd, "127.0.0.1", "9999"]}
    assert relay_pids(processes, 9999) == [10, 14]
