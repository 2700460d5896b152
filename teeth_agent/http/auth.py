"""Credentials for a request's Authorization header, and the parse of a WWW-Authenticate challenge. Pure.

A credential's secret is kept out of repr, so a dataclass dump in a log or a traceback never shows it;
the header value is made only when a request is built.
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass, field
from typing import Literal

# auth-param = token "=" ( token / quoted-string ), RFC 9110 11.2
_PARAM = re.compile(r'\s*([!#$%&\'*+.^_`|~0-9A-Za-z-]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^\s,]*)\s*(?:,|$)')


@dataclass(frozen=True)
class Credentials:
    kind: Literal["basic", "bearer"]
    secret: str = field(repr=False)  # "user:password" for basic, the token for bearer

    @classmethod
    def basic(cls, username: str, password: str) -> Credentials:
        return cls("basic", f"{username}:{password}")

    @classmethod
    def bearer(cls, token: str) -> Credentials:
        return cls("bearer", token)

    def header(self) -> str:
        if self.kind == "basic":
            return "Basic " + base64.b64encode(self.secret.encode("utf-8")).decode("ascii")
        return "Bearer " + self.secret

    @property
    def username(self) -> str | None:
        return self.secret.partition(":")[0] if self.kind == "basic" else None


@dataclass(frozen=True)
class Challenge:
    scheme: str  # lower case: "bearer", "basic"
    params: dict[str, str]


def parse_challenge(header: str) -> Challenge:
    """The first challenge of a WWW-Authenticate value, e.g.
    `Bearer realm="https://auth/token",service="registry",scope="repository:a/b:pull"`."""
    scheme, _, rest = header.strip().partition(" ")
    params: dict[str, str] = {}
    pos = 0
    rest = rest.strip()
    while pos < len(rest):
        match = _PARAM.match(rest, pos)
        if match is None or match.end() == pos:
            break
        value = match.group(2)
        if value.startswith('"'):
            value = re.sub(r"\\(.)", r"\1", value[1:-1])
        params[match.group(1).lower()] = value
        pos = match.end()
    return Challenge(scheme.lower(), params)
