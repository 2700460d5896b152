"""The v1 wire protocol (docs/protocol.md) as a sans-I/O core shared by the agent and the endpoint.

No asyncio, no sockets here (a test enforces it): `Session` turns bytes into events and messages into
bytes; the I/O loop lives in `teeth_agent.connection`.
"""

from teeth_agent.protocol.codec import decode, encode
from teeth_agent.protocol.errors import LocalProtocolError, ProtocolError, RemoteProtocolError
from teeth_agent.protocol.framing import DEFAULT_LINE_LIMIT, EndOfStream, LineBuffer
from teeth_agent.protocol.messages import (
    VERSION,
    Command,
    Error,
    ErrorPayload,
    Fatal,
    JsonObject,
    Message,
    Response,
    Success,
)
from teeth_agent.protocol.session import (
    HANDSHAKE,
    NEED_DATA,
    Event,
    NeedData,
    Role,
    Session,
    State,
    Violation,
)

__all__ = [
    "DEFAULT_LINE_LIMIT",
    "HANDSHAKE",
    "NEED_DATA",
    "VERSION",
    "Command",
    "EndOfStream",
    "Error",
    "ErrorPayload",
    "Event",
    "Fatal",
    "JsonObject",
    "LineBuffer",
    "LocalProtocolError",
    "Message",
    "NeedData",
    "ProtocolError",
    "RemoteProtocolError",
    "Response",
    "Role",
    "Session",
    "State",
    "Success",
    "Violation",
    "decode",
    "encode",
]
