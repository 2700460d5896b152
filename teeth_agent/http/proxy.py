"""Which proxy, if any, a request goes through: HTTP(S)_PROXY / NO_PROXY semantics, as a pure decision.

Settings come from the task's params or, when the params name none, from the agent's environment
(`http_proxy`, `https_proxy`, `all_proxy`, `no_proxy`, lower case first, then upper case, as curl reads
them). From the environment, `localhost` and loopback addresses are never proxied, as Go's
ProxyFromEnvironment (and so Docker and oras) do: a loopback service is this machine's own, and no proxy can
reach it. Proxies named in params apply to every host their own `no_proxy` does not exclude.

Only `http://` proxies are spoken to (https requests go through them with CONNECT); credentials in the
proxy URL become a Basic Proxy-Authorization header, never part of any message.
"""

from __future__ import annotations

import base64
import ipaddress
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass, field

_DEFAULT_PORT = 8080


class ProxyConfigError(ValueError):
    """A proxy setting that cannot be used (bad URL, unsupported scheme)."""


@dataclass(frozen=True)
class Proxy:
    host: str
    port: int
    # The Proxy-Authorization value, or None; kept out of repr so no log or traceback shows it.
    authorization: str | None = field(default=None, repr=False)

    @property
    def display(self) -> str:
        return f"http://{'***@' if self.authorization else ''}{_bracket(self.host)}:{self.port}"


@dataclass(frozen=True)
class ProxySettings:
    http: Proxy | None = None
    https: Proxy | None = None
    no_proxy: tuple[str, ...] = ()
    skip_loopback: bool = False

    @classmethod
    def from_environ(cls, env: Mapping[str, str]) -> ProxySettings:
        def get(name: str) -> str | None:
            value = env.get(name.lower()) or env.get(name.upper())
            return value.strip() if value and value.strip() else None

        fallback = get("all_proxy")
        return cls(
            http=parse_proxy(get("http_proxy") or fallback, "http_proxy"),
            https=parse_proxy(get("https_proxy") or fallback, "https_proxy"),
            no_proxy=parse_no_proxy(get("no_proxy") or ""),
            skip_loopback=True,
        )

    @classmethod
    def from_params(cls, proxies: Mapping[str, str], no_proxy: str) -> ProxySettings:
        return cls(
            http=parse_proxy(proxies.get("http"), "proxies.http"),
            https=parse_proxy(proxies.get("https"), "proxies.https"),
            no_proxy=parse_no_proxy(no_proxy),
        )

    def for_url(self, scheme: str, host: str, port: int) -> Proxy | None:
        proxy = self.https if scheme == "https" else self.http
        if proxy is None:
            return None
        host = host.lower().rstrip(".")
        if self.skip_loopback and _is_loopback(host):
            return None
        if any(_excluded(entry, host, port) for entry in self.no_proxy):
            return None
        return proxy


def parse_proxy(value: str | None, name: str) -> Proxy | None:
    if value is None or not value.strip():
        return None
    text = value.strip()
    if "://" not in text:
        text = "http://" + text  # "127.0.0.1:3128", as curl accepts it
    parts = urllib.parse.urlsplit(text)
    if parts.scheme != "http":
        raise ProxyConfigError(f"{name}: only http:// proxies are supported, got {parts.scheme}://")
    try:
        port = parts.port or _DEFAULT_PORT
    except ValueError as exc:
        raise ProxyConfigError(f"{name}: bad port in the proxy URL") from exc
    if not parts.hostname:
        raise ProxyConfigError(f"{name}: the proxy URL names no host")
    authorization = None
    if parts.username is not None:
        user = urllib.parse.unquote(parts.username)
        password = urllib.parse.unquote(parts.password or "")
        authorization = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
    return Proxy(parts.hostname, port, authorization)


def parse_no_proxy(value: str) -> tuple[str, ...]:
    return tuple(entry.strip().lower() for entry in value.split(",") if entry.strip())


def _excluded(entry: str, host: str, port: int) -> bool:
    """One NO_PROXY entry: `*`, a domain (`example.com` and `.example.com` match it and its subdomains),
    `host:port`, an IP address or a CIDR block."""
    if entry == "*":
        return True
    name, want_port = entry, None
    if entry.count(":") == 1 and not entry.startswith("["):
        name, _, port_text = entry.partition(":")
        if not port_text.isdigit():
            return False
        want_port = int(port_text)
    name = name.strip("[]").lstrip(".").rstrip(".")
    if want_port is not None and want_port != port:
        return False
    if "/" in name:
        try:
            return ipaddress.ip_address(host.strip("[]")) in ipaddress.ip_network(name, strict=False)
        except ValueError:
            return False
    return host == name or host.endswith("." + name)


def _is_loopback(host: str) -> bool:
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _bracket(host: str) -> str:
    return f"[{host}]" if ":" in host else host
