"""One side of a v1 connection, with no I/O: bytes in -> events out, messages in -> bytes out.

    session = Session(Role.ENDPOINT)
    session.receive_data(data)          # b"" when the peer closed
    while (event := session.next_event()) is not NEED_DATA:
        ...                             # Command | Success | Error | Fatal | Violation | EndOfStream
    sock.write(session.send(Success(cmd.id, {})))

Events: a peer's `Command`, `Success`, `Error` or `Fatal`; `Violation(reason)` when the peer broke the
protocol (send `violation.fatal`, then close); `EndOfStream(truncated)` when the peer closed. After a
terminal event (`Fatal`, `Violation`, `EndOfStream`) `next_event()` keeps returning it.

Pending ids are tracked both ways: a response must answer one of the other side's pending commands, and
a command id must not already be pending. `abandon(id)` forgets a command that timed out locally, so a
late response to it is dropped quietly instead of being a violation.

Roles add one rule from the method table: `handshake` is the agent's first message and nothing but a
`fatal_error` reaches the agent before it. Everything else is symmetric.
"""

from __future__ import annotations

import enum
import itertools
from collections import OrderedDict
from dataclasses import dataclass

from teeth_agent.protocol.codec import decode, encode
from teeth_agent.protocol.errors import LocalProtocolError, RemoteProtocolError
from teeth_agent.protocol.framing import DEFAULT_LINE_LIMIT, EndOfStream, LineBuffer
from teeth_agent.protocol.messages import Command, Error, Fatal, Message, Success

HANDSHAKE = "handshake"
_ABANDONED_KEEP = 4096  # late responses we still recognise; older ones become violations


class Role(enum.Enum):
    AGENT = "agent"
    ENDPOINT = "endpoint"


class State(enum.Enum):
    AWAIT_HANDSHAKE = "await_handshake"  # before the agent's handshake command has passed
    OPEN = "open"
    FAILED = "failed"  # a fatal error was sent or received, or a violation found
    CLOSED = "closed"  # the peer closed its side


class NeedData(enum.Enum):
    NEED_DATA = "need_data"


NEED_DATA = NeedData.NEED_DATA


@dataclass(frozen=True, slots=True)
class Violation:
    """The peer broke the protocol; send `fatal` and close."""

    reason: str

    @property
    def fatal(self) -> Fatal:
        return Fatal(self.reason)


Event = Command | Success | Error | Fatal | Violation | EndOfStream


class Session:
    def __init__(self, role: Role, *, line_limit: int = DEFAULT_LINE_LIMIT) -> None:
        self.role = role
        self.state = State.AWAIT_HANDSHAKE
        self._lines = LineBuffer(line_limit)
        self._ours: set[str] = set()  # ids of our commands awaiting a response
        self._theirs: set[str] = set()  # ids of the peer's commands we have not answered
        self._abandoned: OrderedDict[str, None] = OrderedDict()
        self._terminal: Event | None = None
        self._ids = itertools.count(1)
        self._id_prefix = "a" if role is Role.AGENT else "e"
        self._sent_fatal = False

    # -- receiving -------------------------------------------------------------------------------------

    def receive_data(self, data: bytes) -> None:
        """Feed bytes from the peer; `b""` means it closed. Ignored once the session has ended."""
        if self._terminal is None:
            self._lines.feed(data)

    def next_event(self) -> Event | NeedData:
        if self._terminal is not None:
            return self._terminal
        try:
            while True:
                item = self._lines.next_line()
                if item is None:
                    return NEED_DATA
                if isinstance(item, EndOfStream):
                    return self._end(item, State.CLOSED)
                event = self._accept(decode(item))
                if event is not None:
                    return event
        except RemoteProtocolError as exc:
            return self._end(Violation(exc.msg), State.FAILED)

    def events(self) -> list[Event]:
        """Every event available now (a terminal event, if any, comes last)."""
        out: list[Event] = []
        while True:
            event = self.next_event()
            if event is NEED_DATA:
                return out
            out.append(event)
            if event is self._terminal:
                return out

    def _end(self, event: Event, state: State) -> Event:
        self._terminal = event
        self.state = state
        return event

    def _accept(self, msg: Message) -> Event | None:
        """The event for a decoded message, or None when it is dropped (a late response)."""
        if isinstance(msg, Fatal):
            return self._end(msg, State.FAILED)
        if self.state is State.AWAIT_HANDSHAKE:
            self._check_first_received(msg)
        msg_id = msg.id
        if isinstance(msg, Command):
            if msg_id in self._theirs:
                raise RemoteProtocolError(f"command id {msg_id[:60]!r} is already pending")
            self._theirs.add(msg_id)
            return msg
        if msg_id in self._ours:
            self._ours.discard(msg_id)
            return msg
        if msg_id in self._abandoned:
            del self._abandoned[msg_id]  # a late answer to a command that already timed out here
            return None
        raise RemoteProtocolError(f"response to id {msg_id[:60]!r}, which is not pending")

    def _check_first_received(self, msg: Message) -> None:
        if self.role is Role.ENDPOINT:
            if type(msg) is not Command or msg.method != HANDSHAKE:
                raise RemoteProtocolError("the first message must be a handshake command")
            self.state = State.OPEN
        else:
            raise RemoteProtocolError("message received before the handshake was sent")

    # -- sending ---------------------------------------------------------------------------------------

    def send(self, msg: Message) -> bytes:
        """Bytes to write for `msg`; raises LocalProtocolError if the protocol forbids sending it now."""
        if isinstance(msg, Fatal):
            if self._sent_fatal:
                raise LocalProtocolError("a fatal error was already sent")
            self._sent_fatal = True
            self.state = State.FAILED
            return encode(msg)
        if self.state is State.FAILED:
            raise LocalProtocolError("the session has failed; only fatal_error may be sent")
        first = self.state is State.AWAIT_HANDSHAKE
        if first:
            self._check_first_sent(msg)
        msg_id = msg.id
        is_command = isinstance(msg, Command)
        if is_command and msg_id in self._ours:
            raise LocalProtocolError(f"command id {msg_id!r} is already pending")
        if not is_command and msg_id not in self._theirs:
            raise LocalProtocolError(f"response to id {msg_id!r}, which is not pending")
        data = encode(msg)
        if len(data) > self._lines.limit + 1:
            raise LocalProtocolError(f"message of {len(data)} bytes exceeds the line limit")
        # Only now that nothing can fail does the state change.
        if first:
            self.state = State.OPEN
        if is_command:
            self._ours.add(msg_id)
            self._abandoned.pop(msg_id, None)
        else:
            self._theirs.discard(msg_id)
        return data

    def _check_first_sent(self, msg: Message) -> None:
        if self.role is Role.AGENT:
            if type(msg) is not Command or msg.method != HANDSHAKE:
                raise LocalProtocolError("the agent's first message must be a handshake command")
        else:
            raise LocalProtocolError("the endpoint may send nothing before the agent's handshake")

    # -- pending ids -----------------------------------------------------------------------------------

    def next_id(self) -> str:
        """A fresh id for our next command (unique for this session)."""
        return f"{self._id_prefix}{next(self._ids)}"

    def abandon(self, command_id: str) -> None:
        """Stop waiting for a response (local timeout); a late one is then dropped, not a violation."""
        if command_id in self._ours:
            self._ours.discard(command_id)
            self._abandoned[command_id] = None
            if len(self._abandoned) > _ABANDONED_KEEP:
                self._abandoned.popitem(last=False)

    @property
    def our_pending(self) -> frozenset[str]:
        return frozenset(self._ours)

    @property
    def their_pending(self) -> frozenset[str]:
        return frozenset(self._theirs)

    @property
    def ended(self) -> bool:
        return self._terminal is not None
