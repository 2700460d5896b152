"""The store: every durable record of the endpoint, over either engine (see db.py for what an engine gives).

- agents: one row each; every new link bumps `epoch` and names the instance holding it (`holder`). A
  disconnect only counts when it comes from the holder with the epoch it got: a fenced link, or an
  instance that lost its database session, never overwrites a newer holder.
- tasks: one row each (the latest status); `task_statuses` keeps every status by (task_id, seq), and
  `task_finals` has the task_id as its key: a final status is recorded exactly once, for every task ever.
- certificates: one row per disk, the agent's JSON verbatim; the seal is recomputed before it is stored.
- logs: appended in batches, pruned to the newest `log_retention` rows.
- credentials: token hashes only. commands: calls for an agent whose link another instance holds.

Values go in as bound parameters, never spliced into SQL: an agent id like `x'); DROP TABLE agents;--`
is just a string.
"""

from __future__ import annotations

import asyncio
import json
import math
from collections.abc import AsyncIterator, Sequence
from dataclasses import replace
from typing import Any

from teeth_agent.erase.certificate import certificate_digest
from teeth_endpoint.store import schema
from teeth_endpoint.store.db import Db, Row, Tx
from teeth_endpoint.store.errors import StoreError
from teeth_endpoint.store.records import (
    AgentRecord,
    Command,
    JsonObject,
    LinkDown,
    LinkUp,
    StatusIn,
    TaskRecord,
    WriteOutcome,
)
from teeth_endpoint.wire import LogRecord

FINAL = ("complete", "error")
_TABLES = ("agents", "tasks", "task_statuses", "task_finals", "certificates", "logs", "commands")
INSTANCE_TTL = 15.0  # an instance that has not beaten for this long holds no links

_AGENT_COLUMNS = (
    "agent_id, boot_id, agent_version, backend, methods, peer, boots, first_seen, last_seen, connected,"
    " holder, epoch"
)
_TASK_COLUMNS = "task_id, agent_id, method, params, started_by, created, state, seq, status, updated"


def _dumps(value: Any) -> str:
    # allow_nan=False: PostgreSQL and every JSON reader refuse NaN; a status carrying one is refused here.
    return json.dumps(value, separators=(",", ":"), allow_nan=False)


def seal_problem(cert: Any) -> str | None:
    """Why a certificate's seal does not hold, or None when its digest recomputes."""
    if not isinstance(cert, dict):
        return "not an object"
    digest = cert.get("digest")
    if type(digest) is not str:
        return "no digest"
    try:
        if certificate_digest(cert) != digest:
            return "digest does not match its content"
    except (TypeError, ValueError) as exc:
        return f"content cannot be canonicalised: {exc}"
    return None


class Store:
    def __init__(self, db: Db, *, log_retention: int = 100_000) -> None:
        self.db = db
        self.log_retention = log_retention
        self._logs_since_prune = 0

    @property
    def shared(self) -> bool:
        return self.db.shared

    async def open(self) -> None:
        await self.db.open()
        await self.migrate()

    async def close(self) -> None:
        await self.db.close()

    def events(self, ready: asyncio.Event | None = None) -> AsyncIterator[str]:
        """Payloads every instance notified; `ready` is set once subscribed (nothing after is missed)."""
        return self.db.events(ready)

    async def migrate(self) -> int:
        """Apply the migrations not yet applied; returns the schema version. Safe with several instances."""
        async with self.db.transaction() as tx:
            if self.db.dialect == "postgresql":
                await tx.execute("SELECT pg_advisory_xact_lock(7411001)")  # one migrator at a time
            await tx.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
            rows = await tx.execute("SELECT max(version) FROM schema_version")
            current = rows[0][0] or 0
            if current > schema.LATEST:
                raise StoreError(f"the store has schema version {current}, newer than this endpoint's")
            for version in range(current + 1, schema.LATEST + 1):
                for statement in schema.statements(self.db.dialect, version):
                    await tx.execute(statement)
                await tx.execute("INSERT INTO schema_version (version) VALUES (?)", (version,))
            return schema.LATEST

    # -- instances -------------------------------------------------------------------------------------

    async def instance_beat(self, instance: str, now: float) -> None:
        async with self.db.transaction() as tx:
            await tx.execute(
                "INSERT INTO instances (instance_id, started, heartbeat) VALUES (?, ?, ?)"
                " ON CONFLICT (instance_id) DO UPDATE SET heartbeat = excluded.heartbeat",
                (instance, now, now),
            )

    async def instance_gone(self, instance: str, now: float) -> None:
        """A clean stop: its links are down, its agents disconnected (their next link re-homes them)."""
        async with self.db.transaction() as tx:
            gone = await tx.execute(
                "UPDATE agents SET connected = 0, last_seen = ? WHERE holder = ? AND connected = 1"
                " RETURNING agent_id",
                (now, instance),
            )
            await tx.execute("DELETE FROM instances WHERE instance_id = ?", (instance,))
            for (agent_id,) in gone:
                await tx.notify(_dumps({"k": "agent", "a": agent_id}))

    async def forget_links(self, now: float) -> None:
        """One-instance store at start: whatever links the last run had are gone with it."""
        async with self.db.transaction() as tx:
            await tx.execute("UPDATE agents SET connected = 0, last_seen = ? WHERE connected = 1", (now,))
            await tx.execute("DELETE FROM instances")

    # -- agents ----------------------------------------------------------------------------------------

    async def agents_connected(self, links: Sequence[LinkUp]) -> list[AgentRecord]:
        """Many `agent_connected` in one transaction (a fleet reconnecting at once)."""
        async with self.db.transaction() as tx:
            return [await self._connected(tx, up) for up in links]

    async def agents_disconnected(self, links: Sequence[LinkDown]) -> list[bool]:
        async with self.db.transaction() as tx:
            return [await self._disconnected(tx, down) for down in links]

    async def agent_connected(
        self,
        *,
        agent_id: str,
        boot_id: str,
        agent_version: str,
        backend: str,
        methods: Sequence[str],
        peer: str,
        instance: str,
        now: float,
    ) -> AgentRecord:
        """Record a new link held by `instance`; its `epoch` fences every older link of the agent."""
        up = LinkUp(agent_id, boot_id, agent_version, backend, tuple(methods), peer, instance, now)
        return (await self.agents_connected([up]))[0]

    async def _connected(self, tx: Tx, up: LinkUp) -> AgentRecord:
        rows = await tx.execute(
            f"INSERT INTO agents ({_AGENT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, 1, ?, ?, 1, ?, 1)"
            " ON CONFLICT (agent_id) DO UPDATE SET boot_id = excluded.boot_id,"
            " agent_version = excluded.agent_version, backend = excluded.backend,"
            " methods = excluded.methods, peer = excluded.peer,"
            " boots = agents.boots + CASE WHEN agents.boot_id = excluded.boot_id THEN 0 ELSE 1 END,"
            " last_seen = excluded.last_seen, connected = 1, holder = excluded.holder,"
            " epoch = agents.epoch + 1"
            f" RETURNING {_AGENT_COLUMNS}",
            (up.agent_id, up.boot_id, up.agent_version, up.backend, _dumps(list(up.methods)), up.peer,
             up.now, up.now, up.instance),
        )  # fmt: skip
        record = _agent(rows[0])
        await tx.notify(_dumps({"k": "link", "a": up.agent_id, "i": up.instance, "e": record.epoch}))
        return record

    async def agent_disconnected(self, agent_id: str, instance: str, epoch: int, now: float) -> bool:
        """True when this was the agent's current link; a fenced one changes nothing."""
        return (await self.agents_disconnected([LinkDown(agent_id, instance, epoch, now)]))[0]

    async def _disconnected(self, tx: Tx, down: LinkDown) -> bool:
        rows = await tx.execute(
            "UPDATE agents SET connected = 0, last_seen = ?"
            " WHERE agent_id = ? AND holder = ? AND epoch = ? AND connected = 1 RETURNING agent_id",
            (down.now, down.agent_id, down.instance, down.epoch),
        )
        if rows:
            await tx.notify(_dumps({"k": "agent", "a": down.agent_id}))
        return bool(rows)

    async def agent(self, agent_id: str, now: float | None = None) -> AgentRecord | None:
        found = await self.agents(agent_id=agent_id, now=now)
        return found[0] if found else None

    async def agents(self, *, agent_id: str | None = None, now: float | None = None) -> list[AgentRecord]:
        """Agents by id; `connected` only while the holder instance still beats (when `now` is given)."""
        where, args = ("WHERE a.agent_id = ?", [agent_id]) if agent_id is not None else ("", [])
        async with self.db.transaction() as tx:
            rows = await tx.execute(
                f"SELECT a.{_AGENT_COLUMNS.replace(', ', ', a.')}, i.heartbeat FROM agents a"
                f" LEFT JOIN instances i ON i.instance_id = a.holder {where} ORDER BY a.agent_id",
                args,
            )
        out = []
        for row in rows:
            record = _agent(row[:-1])
            beat = row[-1]
            if record.connected and now is not None and (beat is None or now - beat > INSTANCE_TTL):
                record = _replace_connected(record)
            out.append(record)
        return out

    async def holder(self, agent_id: str) -> tuple[str, int] | None:
        """(instance, epoch) of the agent's current link, if it has one."""
        async with self.db.transaction() as tx:
            rows = await tx.execute(
                "SELECT holder, epoch FROM agents WHERE agent_id = ? AND connected = 1", (agent_id,)
            )
        return (rows[0][0], rows[0][1]) if rows and rows[0][0] is not None else None

    async def put_inventory(self, agent_id: str, kind: str, data: JsonObject, now: float) -> None:
        async with self.db.transaction() as tx:
            await tx.execute(
                "INSERT INTO inventory (agent_id, kind, data, updated) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (agent_id, kind) DO UPDATE SET data = excluded.data,"
                " updated = excluded.updated",
                (agent_id, kind, _dumps(data), now),
            )

    async def inventory(self, agent_id: str) -> dict[str, JsonObject]:
        async with self.db.transaction() as tx:
            rows = await tx.execute(
                "SELECT kind, data, updated FROM inventory WHERE agent_id = ? ORDER BY kind", (agent_id,)
            )
        return {kind: {"data": json.loads(data), "updated": updated} for kind, data, updated in rows}

    # -- tasks -----------------------------------------------------------------------------------------

    async def task_started(
        self, *, task_id: str, agent_id: str, method: str, params: JsonObject, started_by: str, now: float
    ) -> TaskRecord:
        """The task's record (a new one, or the existing one: starting a task_id twice starts it once)."""
        async with self.db.transaction() as tx:
            await tx.execute(
                f"INSERT INTO tasks ({_TASK_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, 'pending', -1, '{{}}', ?)"
                " ON CONFLICT (task_id) DO NOTHING",
                (task_id, agent_id, method, _dumps(params), started_by, now, now),
            )
            rows = await tx.execute(f"SELECT {_TASK_COLUMNS} FROM tasks WHERE task_id = ?", (task_id,))
        record = _task(rows[0])
        if record.agent_id != agent_id:
            raise StoreError(f"task_id {task_id!r} belongs to agent {record.agent_id!r}")
        return record

    async def write_statuses(self, batch: Sequence[StatusIn]) -> WriteOutcome:
        """Make a batch of statuses durable in one transaction. Duplicates (same task_id and seq) and
        anything after a task's final status change nothing; a status for another agent's task is dropped."""
        outcome = WriteOutcome()
        if not batch:
            return outcome
        async with self.db.transaction() as tx:
            for s in batch:
                rows = await tx.execute(
                    f"INSERT INTO tasks ({_TASK_COLUMNS}) VALUES (?, ?, ?, '{{}}', 'agent', ?, ?, ?, ?, ?)"
                    " ON CONFLICT (task_id) DO UPDATE SET state = excluded.state, seq = excluded.seq,"
                    " status = excluded.status, updated = excluded.updated,"
                    " method = CASE WHEN tasks.method = '' THEN excluded.method ELSE tasks.method END"
                    " WHERE tasks.agent_id = excluded.agent_id AND tasks.seq < excluded.seq"
                    " AND tasks.state NOT IN ('complete', 'error')"
                    " RETURNING task_id",
                    (s.task_id, s.agent_id, s.method, s.received, s.state, s.seq, _dumps(s.params),
                     s.received),
                )
                if rows:  # newer than what we had: history gets it too (duplicates and late ones do not)
                    outcome.changed.append((s.task_id, s.seq))
                    await tx.execute(
                        "INSERT INTO task_statuses (task_id, seq, state, status, received)"
                        " VALUES (?, ?, ?, ?, ?) ON CONFLICT (task_id, seq) DO NOTHING",
                        (s.task_id, s.seq, s.state, _dumps(s.params), s.received),
                    )
                if s.final and rows:
                    await self._final(tx, s, outcome)
            for task_id, seq in outcome.changed:
                await tx.notify(_dumps({"k": "task", "t": task_id, "s": seq}))
        return outcome

    async def _final(self, tx: Tx, s: StatusIn, outcome: WriteOutcome) -> None:
        first = await tx.execute(
            "INSERT INTO task_finals (task_id, agent_id, seq, state, status, received)"
            " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (task_id) DO NOTHING RETURNING task_id",
            (s.task_id, s.agent_id, s.seq, s.state, _dumps(s.params), s.received),
        )
        if not first:
            return
        outcome.new_finals.append(s.task_id)
        result = s.params.get("result")
        certs = result.get("certificates") if isinstance(result, dict) else None
        if not isinstance(certs, list):
            return
        for cert in certs:
            problem = seal_problem(cert)
            if problem is not None:
                outcome.bad_seals.append((s.task_id, problem))
                continue
            device = cert.get("device") if isinstance(cert.get("device"), dict) else {}
            finished = cert.get("finished_at")
            await tx.execute(
                "INSERT INTO certificates (agent_id, task_id, path, serial, wwn, outcome, finished_at,"
                " digest, body, received) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (task_id, digest) DO NOTHING",
                (
                    s.agent_id,
                    s.task_id,
                    _text(device.get("path")),
                    _text(device.get("serial")),
                    _text(device.get("wwn")),
                    _text(cert.get("outcome")),
                    float(finished) if _is_number(finished) else None,
                    cert["digest"],
                    _dumps(cert),
                    s.received,
                ),
            )
            outcome.certificates += 1

    async def task(self, task_id: str) -> TaskRecord | None:
        async with self.db.transaction() as tx:
            rows = await tx.execute(f"SELECT {_TASK_COLUMNS} FROM tasks WHERE task_id = ?", (task_id,))
        return _task(rows[0]) if rows else None

    async def tasks(self, agent_id: str | None = None, limit: int = 1000) -> list[TaskRecord]:
        where, args = ("WHERE agent_id = ?", [agent_id]) if agent_id is not None else ("", [])
        async with self.db.transaction() as tx:
            rows = await tx.execute(
                f"SELECT {_TASK_COLUMNS} FROM tasks {where} ORDER BY created DESC, task_id LIMIT ?",
                [*args, limit],
            )
        return [_task(r) for r in rows]

    async def statuses(self, task_id: str) -> list[JsonObject]:
        async with self.db.transaction() as tx:
            rows = await tx.execute(
                "SELECT status FROM task_statuses WHERE task_id = ? ORDER BY seq", (task_id,)
            )
        return [json.loads(r[0]) for r in rows]

    async def final_count(self, task_id: str) -> int:
        async with self.db.transaction() as tx:
            rows = await tx.execute("SELECT count(*) FROM task_finals WHERE task_id = ?", (task_id,))
        return int(rows[0][0])

    # -- certificates ----------------------------------------------------------------------------------

    async def certificates(
        self,
        *,
        agent_id: str | None = None,
        task_id: str | None = None,
        serial: str | None = None,
        wwn: str | None = None,
        since: float | None = None,
        until: float | None = None,
        after: int = 0,
        limit: int = 10_000,
    ) -> list[tuple[int, JsonObject]]:
        """(cert_id, certificate) in the order they were stored; `after` pages on by cert_id."""
        clauses: list[str] = ["cert_id > ?"]
        args: list[Any] = [after]
        for column, value in (("agent_id", agent_id), ("task_id", task_id), ("serial", serial), ("wwn", wwn)):
            if value is not None:
                clauses.append(f"{column} = ?")
                args.append(value)
        if since is not None:
            clauses.append("finished_at >= ?")
            args.append(since)
        if until is not None:
            clauses.append("finished_at < ?")
            args.append(until)
        async with self.db.transaction() as tx:
            rows = await tx.execute(
                f"SELECT cert_id, body FROM certificates WHERE {' AND '.join(clauses)}"
                " ORDER BY cert_id LIMIT ?",
                [*args, limit],
            )
        return [(int(cid), json.loads(body)) for cid, body in rows]

    async def certificate(self, cert_id: int) -> JsonObject | None:
        async with self.db.transaction() as tx:
            rows = await tx.execute("SELECT body FROM certificates WHERE cert_id = ?", (cert_id,))
        return json.loads(rows[0][0]) if rows else None

    # -- logs ------------------------------------------------------------------------------------------

    async def add_logs(self, records: Sequence[LogRecord], now: float) -> None:
        if not records:
            return
        async with self.db.transaction() as tx:
            await tx.executemany(
                "INSERT INTO logs (agent_id, level, msg, time, logger, task_id, fields, received)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (r.agent_id, r.level, r.msg, r.time, r.logger, r.task_id, _dumps(r.fields), now)
                    for r in records
                ],
            )
            await tx.notify(_dumps({"k": "log"}))
            self._logs_since_prune += len(records)
            if self._logs_since_prune >= max(self.log_retention // 10, 1):
                self._logs_since_prune = 0
                await tx.execute(
                    "DELETE FROM logs WHERE log_id <= (SELECT max(log_id) FROM logs) - ?",
                    (self.log_retention,),
                )

    async def logs(
        self, *, after: int = 0, agent_id: str | None = None, limit: int = 1000
    ) -> list[tuple[int, LogRecord]]:
        clauses: list[str] = ["log_id > ?"]
        args: list[Any] = [after]
        if agent_id is not None:
            clauses.append("agent_id = ?")
            args.append(agent_id)
        async with self.db.transaction() as tx:
            rows = await tx.execute(
                "SELECT log_id, agent_id, level, msg, time, logger, task_id, fields FROM logs"
                f" WHERE {' AND '.join(clauses)} ORDER BY log_id LIMIT ?",
                [*args, limit],
            )
        return [
            (int(r[0]), LogRecord(r[1], r[2], r[3], r[4], r[5], r[6], json.loads(r[7]))) for r in rows
        ]

    async def last_log_id(self) -> int:
        async with self.db.transaction() as tx:
            rows = await tx.execute("SELECT max(log_id) FROM logs")
        return int(rows[0][0] or 0)

    async def log_count(self) -> int:
        async with self.db.transaction() as tx:
            rows = await tx.execute("SELECT count(*) FROM logs")
        return int(rows[0][0])

    # -- credentials -----------------------------------------------------------------------------------

    async def add_credential(
        self, token_hash: str, kind: str, subject: str, now: float, expires: float | None = None
    ) -> None:
        async with self.db.transaction() as tx:
            await tx.execute(
                "INSERT INTO credentials (token_hash, kind, subject, created, expires) VALUES (?, ?, ?, ?, ?)"
                " ON CONFLICT (token_hash) DO UPDATE SET kind = excluded.kind, subject = excluded.subject,"
                " created = excluded.created, expires = excluded.expires",
                (token_hash, kind, subject, now, expires),
            )

    async def credential(self, token_hash: str) -> tuple[str, str, float | None] | None:
        """(kind, subject, expires) of a token hash, or None."""
        async with self.db.transaction() as tx:
            rows = await tx.execute(
                "SELECT kind, subject, expires FROM credentials WHERE token_hash = ?", (token_hash,)
            )
        return (rows[0][0], rows[0][1], rows[0][2]) if rows else None

    async def has_credentials(self, kind: str, subject: str | None = None) -> bool:
        where, args = ("kind = ?", [kind]) if subject is None else ("kind = ? AND subject = ?",
                                                                     [kind, subject])
        async with self.db.transaction() as tx:
            rows = await tx.execute(f"SELECT 1 FROM credentials WHERE {where} LIMIT 1", args)
        return bool(rows)

    async def revoke(self, kind: str, subject: str) -> int:
        async with self.db.transaction() as tx:
            rows = await tx.execute(
                "DELETE FROM credentials WHERE kind = ? AND subject = ? RETURNING token_hash", (kind, subject)
            )
        return len(rows)

    # -- commands (routing between instances) ----------------------------------------------------------

    async def _transient(self, tx: Tx) -> None:
        # A command row lives for one call: if the database crashes, the caller times out anyway, so
        # its commits need not wait for the disk (they are still atomic and ordered).
        if self.db.dialect == "postgresql":
            await tx.execute("SET LOCAL synchronous_commit = off")

    async def add_command(
        self, *, agent_id: str, origin: str, target: str, method: str, params: JsonObject, now: float
    ) -> int:
        async with self.db.transaction() as tx:
            await self._transient(tx)
            rows = await tx.execute(
                "INSERT INTO commands (agent_id, origin, target, method, params, state, created)"
                " VALUES (?, ?, ?, ?, ?, 'queued', ?) RETURNING command_id",
                (agent_id, origin, target, method, _dumps(params), now),
            )
            command_id = int(rows[0][0])
            await tx.notify(_dumps({"k": "cmd", "c": command_id, "to": target}))
            return command_id

    async def claim_command(self, command_id: int, target: str) -> Command | None:
        """The command, if it is queued for `target` (the claim makes a second delivery a no-op)."""
        async with self.db.transaction() as tx:
            await self._transient(tx)
            rows = await tx.execute(
                "UPDATE commands SET state = 'running'"
                " WHERE command_id = ? AND target = ? AND state = 'queued'"
                " RETURNING command_id, agent_id, origin, target, method, params",
                (command_id, target),
            )
        if not rows:
            return None
        r = rows[0]
        return Command(int(r[0]), r[1], r[2], r[3], r[4], json.loads(r[5]))

    async def queued_commands(self, target: str) -> list[int]:
        async with self.db.transaction() as tx:
            rows = await tx.execute(
                "SELECT command_id FROM commands WHERE target = ? AND state = 'queued' ORDER BY command_id",
                (target,),
            )
        return [int(r[0]) for r in rows]

    async def finish_command(self, command_id: int, origin: str, reply: JsonObject) -> None:
        async with self.db.transaction() as tx:
            await self._transient(tx)
            await tx.execute(
                "UPDATE commands SET state = 'done', reply = ? WHERE command_id = ?",
                (_dumps(reply), command_id),
            )
            await tx.notify(_dumps({"k": "reply", "c": command_id, "to": origin}))

    async def command_reply(self, command_id: int) -> JsonObject | None:
        async with self.db.transaction() as tx:
            rows = await tx.execute(
                "SELECT reply FROM commands WHERE command_id = ? AND state = 'done'", (command_id,)
            )
        return json.loads(rows[0][0]) if rows else None

    async def drop_command(self, command_id: int) -> None:
        async with self.db.transaction() as tx:
            await self._transient(tx)
            await tx.execute("DELETE FROM commands WHERE command_id = ?", (command_id,))

    # -- figures ---------------------------------------------------------------------------------------

    async def count(self, table: str) -> int:
        if table not in _TABLES:
            raise ValueError(f"no table {table!r}")
        async with self.db.transaction() as tx:
            rows = await tx.execute(f"SELECT count(*) FROM {table}")
        return int(rows[0][0])


def _agent(row: Row) -> AgentRecord:
    return AgentRecord(
        agent_id=row[0],
        boot_id=row[1],
        agent_version=row[2],
        backend=row[3],
        methods=tuple(json.loads(row[4])),
        peer=row[5],
        boots=int(row[6]),
        first_seen=float(row[7]),
        last_seen=float(row[8]),
        connected=bool(row[9]),
        holder=row[10],
        epoch=int(row[11]),
    )


def _replace_connected(record: AgentRecord) -> AgentRecord:
    return replace(record, connected=False)


def _task(row: Row) -> TaskRecord:
    return TaskRecord(
        task_id=row[0],
        agent_id=row[1],
        method=row[2],
        params=json.loads(row[3]),
        started_by=row[4],
        created=float(row[5]),
        state=row[6],
        seq=int(row[7]),
        status=json.loads(row[8]),
        updated=float(row[9]),
    )


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _is_number(value: Any) -> bool:
    return type(value) in (int, float) and math.isfinite(value)
