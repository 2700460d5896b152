"""Versioned schema migrations, applied in order at start; `schema_version` holds the last one applied.

A migration is a list of statements with two dialect words substituted: {serial} (an auto-numbered key)
and {real} (a float). JSON is kept as TEXT in both engines, so a certificate comes back byte for byte as
the agent sealed it (PostgreSQL's jsonb would reorder its keys).
"""

from __future__ import annotations

DIALECT_WORDS = {
    "sqlite": {"serial": "INTEGER PRIMARY KEY AUTOINCREMENT", "real": "REAL"},
    "postgresql": {"serial": "BIGSERIAL PRIMARY KEY", "real": "DOUBLE PRECISION"},
}

MIGRATIONS: list[list[str]] = [
    # 1: the first durable endpoint.
    [
        """CREATE TABLE agents (
            agent_id TEXT PRIMARY KEY,
            boot_id TEXT NOT NULL,
            agent_version TEXT NOT NULL,
            backend TEXT NOT NULL,
            methods TEXT NOT NULL,
            peer TEXT NOT NULL,
            boots INTEGER NOT NULL,
            first_seen {real} NOT NULL,
            last_seen {real} NOT NULL,
            connected INTEGER NOT NULL,
            holder TEXT,
            epoch BIGINT NOT NULL)""",
        """CREATE TABLE inventory (
            agent_id TEXT NOT NULL,
            kind TEXT NOT NULL,
            data TEXT NOT NULL,
            updated {real} NOT NULL,
            PRIMARY KEY (agent_id, kind))""",
        """CREATE TABLE tasks (
            task_id TEXT PRIMARY KEY,
            agent_id TEXT NOT NULL,
            method TEXT NOT NULL,
            params TEXT NOT NULL,
            started_by TEXT NOT NULL,
            created {real} NOT NULL,
            state TEXT NOT NULL,
            seq BIGINT NOT NULL,
            status TEXT NOT NULL,
            updated {real} NOT NULL)""",
        "CREATE INDEX tasks_by_agent ON tasks (agent_id, created)",
        """CREATE TABLE task_statuses (
            task_id TEXT NOT NULL,
            seq BIGINT NOT NULL,
            state TEXT NOT NULL,
            status TEXT NOT NULL,
            received {real} NOT NULL,
            PRIMARY KEY (task_id, seq))""",
        # Exactly once: a task has at most one final status, for as long as the database lives.
        """CREATE TABLE task_finals (
            task_id TEXT PRIMARY KEY,
            agent_id TEXT NOT NULL,
            seq BIGINT NOT NULL,
            state TEXT NOT NULL,
            status TEXT NOT NULL,
            received {real} NOT NULL)""",
        """CREATE TABLE certificates (
            cert_id {serial},
            agent_id TEXT NOT NULL,
            task_id TEXT NOT NULL,
            path TEXT,
            serial TEXT,
            wwn TEXT,
            outcome TEXT,
            finished_at {real},
            digest TEXT NOT NULL,
            body TEXT NOT NULL,
            received {real} NOT NULL,
            UNIQUE (task_id, digest))""",
        "CREATE INDEX certificates_by_agent ON certificates (agent_id, cert_id)",
        "CREATE INDEX certificates_by_serial ON certificates (serial)",
        "CREATE INDEX certificates_by_wwn ON certificates (wwn)",
        "CREATE INDEX certificates_by_time ON certificates (finished_at)",
        """CREATE TABLE logs (
            log_id {serial},
            agent_id TEXT NOT NULL,
            level TEXT NOT NULL,
            msg TEXT NOT NULL,
            time {real},
            logger TEXT NOT NULL,
            task_id TEXT,
            fields TEXT NOT NULL,
            received {real} NOT NULL)""",
        """CREATE TABLE credentials (
            token_hash TEXT PRIMARY KEY,
            kind TEXT NOT NULL,
            subject TEXT NOT NULL,
            created {real} NOT NULL,
            expires {real})""",
        "CREATE INDEX credentials_by_subject ON credentials (kind, subject)",
        # Commands for an agent whose link another instance holds (PostgreSQL only in practice).
        """CREATE TABLE commands (
            command_id {serial},
            agent_id TEXT NOT NULL,
            origin TEXT NOT NULL,
            target TEXT NOT NULL,
            method TEXT NOT NULL,
            params TEXT NOT NULL,
            state TEXT NOT NULL,
            reply TEXT,
            created {real} NOT NULL)""",
        # Live endpoint instances: an agent row whose holder stopped beating is not connected.
        """CREATE TABLE instances (
            instance_id TEXT PRIMARY KEY,
            started {real} NOT NULL,
            heartbeat {real} NOT NULL)""",
    ],
]


def statements(dialect: str, version: int) -> list[str]:
    words = DIALECT_WORDS[dialect]
    return [s.format(**words) for s in MIGRATIONS[version - 1]]


LATEST = len(MIGRATIONS)
