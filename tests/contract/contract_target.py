"""What the contract fixture hands each test: a backend and a scratch disk it may destroy."""

from __future__ import annotations

from dataclasses import dataclass

from teeth_agent.backend.api import Backend


@dataclass(frozen=True)
class Target:
    backend: Backend
    disk: str
