"""The v1 method table: every method on the wire, who sends it, and whether it starts a task.

This is the one source of the table in docs/protocol.md (`python -m teeth_agent.protocol.methods` prints it
as Markdown). tests/unit/protocol/test_protocol_methods.py holds the two together, and checks that the
stock agent registers exactly the methods an endpoint sends and that the reference endpoint answers exactly
those an agent sends. The command registry takes its `standby.*` alias from here.

Plugins may add methods of their own (the agent announces them in its handshake); they are not v1.
"""

from __future__ import annotations

import enum
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from teeth_agent.protocol.session import Role


class Direction(enum.StrEnum):
    AGENT_TO_ENDPOINT = "agent → endpoint"
    ENDPOINT_TO_AGENT = "endpoint → agent"
    BOTH = "both"

    def answered_by(self, role: Role) -> bool:
        if self is Direction.BOTH:
            return True
        return (self is Direction.ENDPOINT_TO_AGENT) == (role is Role.AGENT)


class Kind(enum.StrEnum):
    COMMAND = "command"  # answered with its result
    TASK = "task"  # answered at once with {task_id, state}; the outcome follows as task_status


@dataclass(frozen=True, slots=True)
class MethodSpec:
    name: str
    direction: Direction
    kind: Kind
    params: str  # one line; docs/protocol.md has the full shapes
    result: str


_A2E, _E2A = Direction.AGENT_TO_ENDPOINT, Direction.ENDPOINT_TO_AGENT
_CMD, _TASK = Kind.COMMAND, Kind.TASK
_TASK_RESULT = "`{task_id, state}`; outcome by `task_status`"

METHODS: tuple[MethodSpec, ...] = (
    MethodSpec("ping", Direction.BOTH, _CMD, "any object", "the same object"),
    MethodSpec(
        "handshake", _A2E, _CMD,
        "`agent_id`, `boot_id`, `agent_version`, `backend`, `methods`, `tasks`, `token`?",
        "`{accepted, heartbeat_interval}`",
    ),
    MethodSpec("log", _A2E, _CMD, "`level`, `msg`, `time`, `logger`, `task_id`?, `fields`?", "`{}`"),
    MethodSpec(
        "task_status", _A2E, _CMD,
        "`task_id`, `method`, `seq`, `state` + `percent`/`eta`, `msg`/`error` or `result`",
        "`{}` (the acknowledgement)",
    ),
    MethodSpec(
        "status", _E2A, _CMD, "none",
        "`version`, `uptime`, `boot_id`, `agent_id`, `backend`, `tasks`, `hardware`",
    ),
    MethodSpec(
        "decom.disk_erase", _E2A, _TASK,
        "`task_id`, `devices`?, `skip`?, `methods`?, `mode`?, `verify`?, `dry_run`?, ...",
        _TASK_RESULT,
    ),
    MethodSpec(
        "decom.firmware_secure", _E2A, _TASK, "`task_id`, `firmware`?, `settings`?, `secure_boot`?",
        _TASK_RESULT,
    ),
    MethodSpec("decom.qc", _E2A, _TASK, "`task_id`, `spec`, `burnin`?", _TASK_RESULT),
    MethodSpec(
        "standbye.cache_images", _E2A, _TASK, "`task_id`, `images`, `root_device`?, `allow_md5`?",
        _TASK_RESULT,
    ),
    MethodSpec(
        "standbye.prepare_image", _E2A, _TASK, "`task_id`, `image`, `root_device`?, `allow_md5`?",
        _TASK_RESULT,
    ),
    MethodSpec(
        "standbye.run_image", _E2A, _TASK, "`task_id`, `image_id`, `configdrive`, `kexec`?, `boot`?",
        _TASK_RESULT,
    ),
)

# The seed spelled the family `standbye.`; `standby.` is accepted as another spelling of the same methods.
ALIASES: Mapping[str, str] = MappingProxyType({"standby.": "standbye."})

BY_NAME: Mapping[str, MethodSpec] = MappingProxyType({m.name: m for m in METHODS})


def canonical_method(method: str) -> str:
    """The table's name for `method` (an alias prefix rewritten), or `method` itself."""
    for alias, canonical in ALIASES.items():
        if method.startswith(alias):
            return canonical + method[len(alias) :]
    return method


def answered_by(role: Role) -> frozenset[str]:
    """The methods a peer in `role` must answer."""
    return frozenset(m.name for m in METHODS if m.direction.answered_by(role))


def markdown_table() -> str:
    """The table as docs/protocol.md carries it."""
    rows = ["| method | direction | kind | params | result |", "|---|---|---|---|---|"]
    rows += [f"| `{m.name}` | {m.direction} | {m.kind} | {m.params} | {m.result} |" for m in METHODS]
    return "\n".join(rows) + "\n"


if __name__ == "__main__":
    sys.stdout.write(markdown_table())
