"""Two sessions joined by an in-memory link: what one sends, the other receives."""

from __future__ import annotations

import pytest

from teeth_agent.protocol import (
    NEED_DATA,
    Command,
    EndOfStream,
    Error,
    ErrorPayload,
    Event,
    Fatal,
    LocalProtocolError,
    Role,
    Session,
    State,
    Success,
    Violation,
)

HANDSHAKE = Command("h1", "handshake", {"agent_id": "a"})


def pair() -> tuple[Session, Session]:
    """An agent and an endpoint that have completed the handshake exchange."""
    agent, endpoint = Session(Role.AGENT), Session(Role.ENDPOINT)
    endpoint.receive_data(agent.send(HANDSHAKE))
    assert endpoint.events() == [HANDSHAKE]
    agent.receive_data(endpoint.send(Success("h1", {"accepted": True})))
    assert agent.events() == [Success("h1", {"accepted": True})]
    return agent, endpoint


def deliver(src: Session, dst: Session, *msgs: Command | Success | Error | Fatal) -> list[Event]:
    dst.receive_data(b"".join(src.send(m) for m in msgs))
    return dst.events()


def test_commands_flow_both_ways_and_responses_clear_pending() -> None:
    agent, endpoint = pair()
    cmd = Command(endpoint.next_id(), "status")
    assert deliver(endpoint, agent, cmd) == [cmd]
    assert endpoint.our_pending == {cmd.id} and agent.their_pending == {cmd.id}
    assert deliver(agent, endpoint, Success(cmd.id, {"uptime": 1})) == [Success(cmd.id, {"uptime": 1})]
    assert endpoint.our_pending == frozenset() and agent.their_pending == frozenset()
    ping = Command(agent.next_id(), "ping", {"n": 1})
    assert deliver(agent, endpoint, ping) == [ping]
    err = Error(ping.id, ErrorPayload("nope", "internal"))
    assert deliver(endpoint, agent, err) == [err]


def test_need_data_until_a_line_completes() -> None:
    agent, endpoint = pair()
    data = agent.send(Command("x", "ping"))
    endpoint.receive_data(data[:5])
    assert endpoint.next_event() is NEED_DATA
    endpoint.receive_data(data[5:])
    assert endpoint.next_event() == Command("x", "ping")
    assert endpoint.next_event() is NEED_DATA


def test_response_to_an_id_that_is_not_pending_is_a_violation() -> None:
    _agent, endpoint = pair()
    endpoint.receive_data(b'{"version":"v1","id":"zzz","result":{}}\n')
    [event] = endpoint.events()
    assert isinstance(event, Violation) and "not pending" in event.reason
    assert endpoint.state is State.FAILED


def test_duplicate_pending_command_id_is_a_violation() -> None:
    _agent, endpoint = pair()
    line = b'{"version":"v1","id":"dup","method":"ping"}\n'
    endpoint.receive_data(line + line)
    first, second = endpoint.events()
    assert first == Command("dup", "ping")
    assert isinstance(second, Violation) and "already pending" in second.reason


def test_a_violation_is_terminal_and_yields_a_fatal_to_send() -> None:
    agent, endpoint = pair()
    endpoint.receive_data(b"garbage\n" + agent.send(Command("later", "ping")))
    events = endpoint.events()
    assert len(events) == 1 and isinstance(events[0], Violation)
    assert endpoint.next_event() == events[0]  # stays terminal
    with pytest.raises(LocalProtocolError):
        endpoint.send(Command("e9", "ping"))
    agent.receive_data(endpoint.send(events[0].fatal))
    assert agent.events() == [Fatal(events[0].reason)]
    with pytest.raises(LocalProtocolError, match="already sent"):
        endpoint.send(Fatal("again"))


def test_endpoint_requires_handshake_first() -> None:
    endpoint = Session(Role.ENDPOINT)
    endpoint.receive_data(b'{"version":"v1","id":"1","method":"ping"}\n')
    [event] = endpoint.events()
    assert isinstance(event, Violation) and "handshake" in event.reason


def test_endpoint_may_not_send_before_the_handshake_but_may_send_fatal() -> None:
    endpoint = Session(Role.ENDPOINT)
    with pytest.raises(LocalProtocolError, match="handshake"):
        endpoint.send(Command("e1", "status"))
    assert endpoint.send(Fatal("shutting down")).startswith(b'{"version":"v1","fatal_error"')


def test_agent_must_send_handshake_first_and_receives_nothing_before_it() -> None:
    agent = Session(Role.AGENT)
    with pytest.raises(LocalProtocolError, match="handshake"):
        agent.send(Command("a1", "ping"))
    assert agent.state is State.AWAIT_HANDSHAKE
    agent.receive_data(b'{"version":"v1","id":"e1","method":"status"}\n')
    [event] = agent.events()
    assert isinstance(event, Violation)


def test_local_misuse_raises() -> None:
    agent, _endpoint = pair()
    agent.send(Command("a5", "ping"))
    with pytest.raises(LocalProtocolError, match="already pending"):
        agent.send(Command("a5", "ping"))
    with pytest.raises(LocalProtocolError, match="not pending"):
        agent.send(Success("never-asked", {}))


def test_oversized_outgoing_message_is_refused() -> None:
    agent = Session(Role.AGENT, line_limit=64)
    with pytest.raises(LocalProtocolError, match="line limit"):
        agent.send(Command("h", "handshake", {"pad": "x" * 100}))
    assert agent.state is State.AWAIT_HANDSHAKE and agent.our_pending == frozenset()


def test_abandoned_command_drops_its_late_response() -> None:
    agent, endpoint = pair()
    cmd = Command(endpoint.next_id(), "status")
    deliver(endpoint, agent, cmd)
    endpoint.abandon(cmd.id)
    assert endpoint.our_pending == frozenset()
    late = agent.send(Success(cmd.id, {}))
    ping = agent.send(Command("a9", "ping"))
    endpoint.receive_data(late + ping)
    assert endpoint.events() == [Command("a9", "ping")]
    endpoint.receive_data(late)  # a second answer is no longer expected at all
    [event] = endpoint.events()
    assert isinstance(event, Violation)


def test_end_of_stream_with_and_without_a_partial_line() -> None:
    agent, endpoint = pair()
    endpoint.receive_data(b'{"version":"v1","id":"1","meth')
    endpoint.receive_data(b"")
    assert endpoint.events() == [EndOfStream(truncated=30)]
    assert endpoint.state is State.CLOSED
    agent.receive_data(b"")
    assert agent.events() == [EndOfStream(truncated=0)]


def test_peer_fatal_is_terminal() -> None:
    agent, endpoint = pair()
    assert deliver(agent, endpoint, Fatal("bye")) == [Fatal("bye")]
    assert endpoint.state is State.FAILED
    endpoint.receive_data(b"ignored\n")
    assert endpoint.next_event() == Fatal("bye")


def test_ids_are_unique_per_session() -> None:
    session = Session(Role.ENDPOINT)
    ids = {session.next_id() for _ in range(1000)}
    assert len(ids) == 1000
