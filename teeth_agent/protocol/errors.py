"""Protocol errors, split by who is at fault (the h11 model).

- `LocalProtocolError`: this side misused the session (sent a response to a command that is not pending,
  reused a pending id, sent after a fatal error, built an invalid message). A bug on our side;
  never sent on the wire.
- `RemoteProtocolError`: the peer broke docs/protocol.md (its section 9 lists how). The session never
  lets it escape `next_event()`: it becomes a `Violation` event whose `fatal` message the caller sends
  before closing.
"""

from __future__ import annotations


class ProtocolError(Exception):
    """Base of both; `msg` is a human-readable reason naming what is wrong."""

    def __init__(self, msg: str) -> None:
        super().__init__(msg)
        self.msg = msg


class LocalProtocolError(ProtocolError):
    """We tried to do something the protocol forbids."""


class RemoteProtocolError(ProtocolError):
    """The peer sent something the protocol forbids; the connection must end with `fatal_error`."""
