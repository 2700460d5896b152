"""A throwaway PostgreSQL server for tests: Debian's postgresql-15 binaries, a temporary data directory,
a unix socket only (no TCP port), run as an unprivileged user because PostgreSQL refuses to run as root."""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path

PG_BIN = Path("/usr/lib/postgresql/15/bin")
RUN_AS = "nobody"


def _as_user(argv: list[str]) -> list[str]:
    return ["runuser", "-u", RUN_AS, "--", *argv] if os.getuid() == 0 else argv


class PgServer:
    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="teeth-pg-"))
        self.data = self.root / "data"
        self.sock = self.root / "sock"
        self.log = self.root / "server.log"
        self._databases = 0

    def start(self) -> None:
        if not (PG_BIN / "initdb").exists():
            raise RuntimeError(f"{PG_BIN}/initdb missing: install postgresql (deps/apt-endpoint.txt)")
        self.sock.mkdir()
        if os.getuid() == 0:
            user = pwd.getpwnam(RUN_AS)
            for path in (self.root, self.sock):
                os.chown(path, user.pw_uid, user.pw_gid)
        subprocess.run(
            _as_user([str(PG_BIN / "initdb"), "-D", str(self.data), "-U", "teeth", "-A", "trust",
                      "-E", "UTF8", "--no-sync"]),
            check=True, capture_output=True,
        )  # fmt: skip
        self._start()

    def _start(self) -> None:
        options = f"-k {self.sock} -c listen_addresses='' -c max_connections=400"
        subprocess.run(
            _as_user([str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-l", str(self.log), "-o", options,
                      "-w", "-t", "60", "start"]),
            check=True, capture_output=True,
        )  # fmt: skip

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://teeth@/{database}?host={self.sock}"

    def new_database(self) -> str:
        """A fresh, empty database's URL."""
        self._databases += 1
        name = f"t{self._databases}"
        self.psql(f"CREATE DATABASE {name}")
        return self.url(name)

    def psql(self, sql: str, database: str = "postgres") -> str:
        out = subprocess.run(
            [str(PG_BIN / "psql"), "-h", str(self.sock), "-U", "teeth", "-d", database,
             "-At", "-v", "ON_ERROR_STOP=1", "-c", sql],
            check=True, capture_output=True, text=True,
        )  # fmt: skip
        return out.stdout

    def stop(self, mode: str = "fast") -> None:
        subprocess.run(
            _as_user([str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop"]),
            check=False, capture_output=True,
        )  # fmt: skip

    def restart(self) -> None:
        self.stop()
        self._start()

    def remove(self) -> None:
        self.stop("immediate")
        shutil.rmtree(self.root, ignore_errors=True)
