"""One connection for one request: straight to the server, or through a proxy (CONNECT for https).

Through a proxy, plain http is sent to the proxy with the full URL as the request target; https opens a
tunnel with CONNECT and speaks TLS to the server inside it, so the proxy sees neither the request nor the
credentials sent to the server. A proxy that cannot be reached, refuses, or wants credentials that were not
given is a ProxyError: the same answer would come again, so it is not retried.
"""

from __future__ import annotations

import asyncio
import ssl
import urllib.parse
from dataclasses import dataclass

from teeth_agent.http.errors import ProxyError
from teeth_agent.http.proxy import Proxy
from teeth_agent.http.receiver import Conn
from teeth_agent.http.wire import Body

CONNECT_HEAD_BUFFER = 64 * 1024


class ConnectTimeout(Exception):
    """Connecting (or the TLS handshake, or the proxy's CONNECT answer) took longer than allowed."""


@dataclass(frozen=True)
class Endpoint:
    scheme: str
    host: str
    port: int

    @classmethod
    def of(cls, parts: urllib.parse.SplitResult) -> Endpoint:
        tls = parts.scheme == "https"
        return cls(parts.scheme, (parts.hostname or "").lower(), parts.port or (443 if tls else 80))

    @property
    def authority(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"


async def open_conn(
    target: Endpoint,
    proxy: Proxy | None,
    *,
    chunk_size: int,
    seconds: float,
    ssl_context: ssl.SSLContext | None,
    user_agent: str,
) -> Conn:
    tls = target.scheme == "https"
    context = (ssl_context or ssl.create_default_context()) if tls else None
    if proxy is None:
        return await _tcp(target.host, target.port, chunk_size, seconds, context, target.host)
    conn = await _to_proxy(proxy, chunk_size, seconds)
    if not tls:
        return conn
    try:
        await _tunnel(conn, target, proxy, seconds, user_agent)
        assert context is not None
        loop = asyncio.get_running_loop()
        async with asyncio.timeout(seconds):
            transport = await loop.start_tls(conn.transport, conn, context, server_hostname=target.host)
        assert transport is not None
        conn.upgrade(transport)
    except TimeoutError as exc:
        conn.close()
        raise ConnectTimeout(f"TLS through proxy {proxy.display} to {target.authority} timed out") from exc
    except BaseException:
        conn.close()
        raise
    return conn


async def _tcp(
    host: str, port: int, chunk_size: int, seconds: float, context: ssl.SSLContext | None, name: str
) -> Conn:
    loop = asyncio.get_running_loop()
    try:
        async with asyncio.timeout(seconds):
            _, conn = await loop.create_connection(
                lambda: Conn(chunk_size), host, port, ssl=context, server_hostname=name if context else None
            )
    except TimeoutError as exc:
        raise ConnectTimeout(f"connect to {host}:{port} timed out") from exc
    return conn


async def _to_proxy(proxy: Proxy, chunk_size: int, seconds: float) -> Conn:
    try:
        return await _tcp(proxy.host, proxy.port, chunk_size, seconds, None, proxy.host)
    except (OSError, ConnectTimeout) as exc:
        raise ProxyError(f"proxy {proxy.display} cannot be reached: {exc}",
                         details={"proxy": proxy.display}) from exc


async def _tunnel(conn: Conn, target: Endpoint, proxy: Proxy, seconds: float, user_agent: str) -> None:
    lines = [f"CONNECT {target.authority} HTTP/1.1", f"Host: {target.authority}", f"User-Agent: {user_agent}"]
    if proxy.authorization:
        lines.append(f"Proxy-Authorization: {proxy.authorization}")
    conn.send(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
    body = Body(conn, lambda: seconds, CONNECT_HEAD_BUFFER)
    try:
        response = await body.read_head()
    except (ConnectionError, ValueError) as exc:
        raise ProxyError(f"proxy {proxy.display} gave no answer to CONNECT {target.authority} ({exc})",
                         details={"proxy": proxy.display}) from exc
    if response.status == 407:
        raise proxy_auth_error(proxy)
    if response.status != 200:
        reason = f"HTTP {response.status} {response.reason}".rstrip()
        raise ProxyError(f"proxy {proxy.display} refused CONNECT to {target.authority}: {reason}",
                         details={"proxy": proxy.display, "status": response.status})
    if body.leftover:
        raise ProxyError(f"proxy {proxy.display} sent data before the tunnel was used",
                         details={"proxy": proxy.display})


def proxy_auth_error(proxy: Proxy) -> ProxyError:
    why = ("refused the credentials in the proxy URL" if proxy.authorization else
           "asks for credentials; none were given (put them in the proxy URL: http://user:password@host:port)")
    return ProxyError(f"proxy {proxy.display} {why} (HTTP 407)",
                      details={"proxy": proxy.display, "status": 407})
