"""A deliberately low-level agent link for the conformance kit: raw lines out, strictly decoded lines in.

Unlike the agent's `Connection`, a `RawLink` will send anything (that is how violations are provoked), and
it judges what the endpoint sends with the protocol's own strict decoder. Commands from the endpoint are
answered as an agent would (`ping` echoes, `status` gives a small status, others `unknown_method`) and
remembered in `commands`, so a check can ask what the endpoint sent.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import uuid
from typing import Any

from teeth_agent.dial import open_endpoint, parse_endpoint
from teeth_agent.protocol import Command, Error, Fatal, Message, RemoteProtocolError, Success, decode

JsonObject = dict[str, Any]


class CheckFailed(Exception):
    """What the endpoint did wrong, in words."""


class Closed(Exception):
    pass


class RawLink:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, timeout: float) -> None:
        self.reader = reader
        self.writer = writer
        self.timeout = timeout
        self.commands: list[Command] = []
        self.fatal: Fatal | None = None
        self._ids = itertools.count(1)
        self._responses: dict[str, Success | Error] = {}
        self._eof = False

    @classmethod
    async def open(cls, url: str, within: float) -> RawLink:
        async with asyncio.timeout(within):
            reader, writer = await open_endpoint(parse_endpoint(url), None)
        return cls(reader, writer, within)

    async def close(self) -> None:
        self.writer.close()
        with contextlib.suppress(Exception):
            await self.writer.wait_closed()

    def write_raw(self, line: bytes) -> None:
        self.writer.write(line if line.endswith(b"\n") else line + b"\n")

    def send(self, obj: JsonObject) -> None:
        self.write_raw(json.dumps(obj).encode())

    def command(self, method: str, params: JsonObject) -> str:
        msg_id = f"c{next(self._ids)}"
        self.send({"version": "v1", "id": msg_id, "method": method, "params": params})
        return msg_id

    async def _next(self) -> Message | None:
        """The endpoint's next message (None at end of stream); commands are answered here."""
        if self._eof:
            return None
        line = await self.reader.readline()
        if not line:
            self._eof = True
            return None
        try:
            msg = decode(line)
        except RemoteProtocolError as exc:
            raise CheckFailed(f"the endpoint sent an invalid message ({exc}): {line[:200]!r}") from None
        if isinstance(msg, Command):
            self.commands.append(msg)
            self._answer(msg)
        elif isinstance(msg, Fatal):
            self.fatal = msg
        return msg

    def _answer(self, cmd: Command) -> None:
        if cmd.method == "ping":
            self.send({"version": "v1", "id": cmd.id, "result": dict(cmd.params)})
        elif cmd.method == "status":
            self.send({"version": "v1", "id": cmd.id, "result": {"version": "conformance", "uptime": 0,
                                                                  "agent_id": "conformance", "tasks": []}})
        else:
            self.send({"version": "v1", "id": cmd.id,
                       "error": {"type": "unknown_method", "msg": f"no method {cmd.method}"}})

    async def response(self, msg_id: str, within: float | None = None) -> Success | Error:
        """The answer to our command `msg_id`; CheckFailed on no answer, a close, or a fatal_error."""
        try:
            async with asyncio.timeout(within or self.timeout):
                while msg_id not in self._responses:
                    msg = await self._next()
                    if msg is None:
                        raise CheckFailed(f"the endpoint closed the link instead of answering {msg_id}")
                    if isinstance(msg, Fatal):
                        raise CheckFailed(f"the endpoint sent fatal_error {msg.fatal_error!r} "
                                          f"instead of answering {msg_id}")
                    if isinstance(msg, Success | Error):
                        self._responses[msg.id] = msg
        except TimeoutError:
            raise CheckFailed(f"no answer to {msg_id} within {within or self.timeout:g} s") from None
        await self.writer.drain()
        return self._responses.pop(msg_id)

    async def call(self, method: str, params: JsonObject) -> JsonObject:
        """Send a command and return its result; CheckFailed when it is an error."""
        answer = await self.response(self.command(method, params))
        if isinstance(answer, Error):
            raise CheckFailed(f"{method} was answered with error {answer.error.type}: {answer.error.msg}")
        return answer.result

    async def wait_for(self, method: str, within: float) -> Command:
        """Until the endpoint sends a `method` command (answered as an agent would)."""
        try:
            async with asyncio.timeout(within):
                while True:
                    found = next((c for c in self.commands if c.method == method), None)
                    if found is not None:
                        await self.writer.drain()
                        return found
                    msg = await self._next()
                    if msg is None or isinstance(msg, Fatal):
                        raise CheckFailed(f"the link ended while waiting for the endpoint's {method}")
                    if isinstance(msg, Success | Error):
                        self._responses[msg.id] = msg
        except TimeoutError:
            raise CheckFailed(f"the endpoint sent no {method} within {within:g} s") from None

    async def fatal_then_close(self, within: float) -> str:
        """Expect fatal_error and then the end of the stream; return the fatal reason."""
        try:
            async with asyncio.timeout(within):
                while True:
                    msg = await self._next()
                    if msg is None:
                        break
        except TimeoutError:
            if self.fatal is None:
                raise CheckFailed(f"neither fatal_error nor a close within {within:g} s") from None
            raise CheckFailed(f"fatal_error {self.fatal.fatal_error!r} but the link stayed open") from None
        except (ConnectionError, CheckFailed) as exc:
            if self.fatal is None:
                raise CheckFailed(f"no fatal_error before the link ended ({exc})") from None
        if self.fatal is None:
            raise CheckFailed("the endpoint closed the link without sending fatal_error first")
        return self.fatal.fatal_error


def handshake_params(agent_id: str, tasks: list[JsonObject] | None = None) -> JsonObject:
    return {"agent_id": agent_id, "agent_version": "teeth-sim-conformance", "boot_id": str(uuid.uuid4()),
            "backend": "sim", "methods": ["ping", "status"], "tasks": tasks or []}


async def joined(url: str, agent_id: str, within: float, token: str | None = None,
                 tasks: list[JsonObject] | None = None) -> tuple[RawLink, JsonObject]:
    """A link whose handshake the endpoint accepted: (link, handshake result)."""
    link = await RawLink.open(url, within)
    params = handshake_params(agent_id, tasks)
    if token is not None:
        params["token"] = token
    try:
        result = await link.call("handshake", params)
    except BaseException:
        await link.close()
        raise
    if result.get("accepted") is not True:
        await link.close()
        raise CheckFailed(f"handshake not accepted: {result}")
    return link, result
