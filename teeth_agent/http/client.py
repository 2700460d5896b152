"""A small HTTP/1.1 GET client over asyncio streams, for image and firmware downloads.

Standard library only (it ships in the ramdisk). What it does beyond a plain GET, and why:
- several URLs, tried in order: mirrors of one image;
- Range resume after a dropped connection or a stalled read, so a multi-GiB download survives a hiccup;
  a server that ignores Range (200) is read and the already-received prefix discarded;
- a per-read timeout (no byte for N s) and a total deadline;
- no retry of a 4xx on the same URL (asking again cannot help); redirects bounded, only to http(s), never
  from https to http;
- proxies (`proxy`, else HTTP(S)_PROXY/NO_PROXY from the environment; CONNECT for https) and credentials
  (`auth`, or userinfo in the URL) sent only to the origin they were given for; no URL in a message
  carries its userinfo.
Integrity is not this module's job: the pipeline hashes every byte and compares at the end.
"""

from __future__ import annotations

import asyncio
import os
import ssl
import time
import urllib.parse
from collections.abc import AsyncGenerator
from dataclasses import dataclass, field

from teeth_agent.http.auth import Credentials
from teeth_agent.http.connect import ConnectTimeout, Endpoint, open_conn, proxy_auth_error
from teeth_agent.http.errors import (
    DownloadError,
    HttpStatusError,
    ProxyError,
    ReadTimeout,
    RedirectRefused,
    redact,
)
from teeth_agent.http.proxy import Proxy, ProxyConfigError, ProxySettings
from teeth_agent.http.receiver import Conn
from teeth_agent.http.wire import Body, Response, build_request

_REDIRECTS = (301, 302, 303, 307, 308)
PROGRESS_RESETS_RETRIES = 1 << 20


@dataclass(frozen=True)
class HttpOptions:
    connect_timeout: float = 30.0
    read_timeout: float = 60.0
    # A stream that trickles just fast enough to dodge read_timeout still ends (4 h: a multi-GiB image
    # over a slow link fits; a stuck one does not hold the machine for ever).
    total_timeout: float | None = 4 * 3600.0
    max_redirects: int = 5
    # Attempts per URL after the first (each a Range resume when bytes were already received).
    max_resumes: int = 5
    chunk_size: int = 2 << 20
    retry_delay: float = 0.5
    ssl_context: ssl.SSLContext | None = None
    user_agent: str = "teeth-agent"
    # None: HTTP(S)_PROXY/NO_PROXY from the agent's environment, read when a download starts.
    proxy: ProxySettings | None = None
    # Sent as Authorization to the origin of the URL given (not to one a redirect leads to).
    auth: Credentials | None = None
    headers: tuple[tuple[str, str], ...] = ()


def check_redirect(current: str, target: str) -> str:
    """Follow a redirect only to http(s), and never from https down to http: a TLS download must not be
    silently handed to a plain-text server (the digest still guards the bytes, but not the credentials
    and not what a MITM learns)."""
    scheme = urllib.parse.urlsplit(target).scheme
    if scheme not in ("http", "https"):
        raise RedirectRefused(f"{redact(current)}: redirect to a {scheme or 'relative'}: URL refused "
                              f"({redact(target)})")
    if urllib.parse.urlsplit(current).scheme == "https" and scheme == "http":
        raise RedirectRefused(f"{redact(current)}: redirect from https to http refused ({redact(target)})")
    return target


class _Dropped(Exception):
    """The connection ended or stalled mid-body: resumable."""


@dataclass
class HttpDownload:
    """Async byte source over several URLs. `total` is known once the first response arrives."""

    urls: tuple[str, ...]
    options: HttpOptions = field(default_factory=HttpOptions)
    total: int | None = None
    received: int = 0
    failures: list[str] = field(default_factory=list)
    _complete: bool = False
    _last: Exception | None = None
    _proxy_settings: ProxySettings | None = None

    async def chunks(self) -> AsyncGenerator[bytes, None]:
        deadline = None
        if self.options.total_timeout is not None:
            deadline = time.monotonic() + self.options.total_timeout
        for url in self.urls:
            async for chunk in self._from_url(url, deadline):
                yield chunk
            if self._complete:
                return
        self._give_up(self._last)

    async def _from_url(self, url: str, deadline: float | None) -> AsyncGenerator[bytes, None]:
        """This URL's bytes, resuming after drops. Only attempts that brought less than a MiB count against
        max_resumes: a flaky link that keeps making real progress is not given up on (the total timeout
        still bounds it), a trickle that gets a byte per attempt is."""
        fruitless = 0
        while fruitless <= self.options.max_resumes:
            before = self.received
            try:
                async for chunk in self._get(url, deadline):
                    yield chunk
                self._complete = True
                return
            except (HttpStatusError, RedirectRefused, ProxyError) as exc:
                self._note(url, exc)
                return  # a 4xx or a refused redirect will not change; after a 5xx, let the next mirror answer
            except ssl.SSLCertVerificationError as exc:
                self._note(url, exc)
                return  # an untrusted server stays untrusted
            except (_Dropped, OSError, ReadTimeout) as exc:
                self._note(url, exc)
                if isinstance(exc, ReadTimeout) and exc.details and exc.details.get("total"):
                    raise
            fruitless = 0 if self.received - before >= PROGRESS_RESETS_RETRIES else fruitless + 1
            if fruitless <= self.options.max_resumes:
                await asyncio.sleep(self.options.retry_delay * min(fruitless + 1, 4))

    def _note(self, url: str, exc: Exception) -> None:
        self._last = exc
        text = str(exc) or type(exc).__name__
        url = redact(url)
        self.failures.append(text if text.startswith(url) else f"{url}: {text}")

    def _give_up(self, last: Exception | None) -> None:
        details = {"failures": self.failures[-20:], "received": self.received}
        msg = f"download failed from every URL after {self.received} bytes: {self.failures[-1:]}"
        if isinstance(last, ReadTimeout):
            raise ReadTimeout(msg, details=details)
        if isinstance(last, (HttpStatusError, RedirectRefused, ProxyError)) and len(self.urls) == 1:
            raise last
        raise DownloadError(msg, details=details)

    async def _get(self, url: str, deadline: float | None) -> AsyncGenerator[bytes, None]:
        conn, body, response, final_url = await self._open(url, deadline)
        try:
            skip = self._check_range(response, final_url)
            async for chunk in body.chunks(response):
                if skip:
                    drop = min(skip, len(chunk))
                    skip -= drop
                    chunk = chunk[drop:]
                    if not chunk:
                        continue
                self.received += len(chunk)
                yield chunk  # type: ignore[misc]  # bytearray: a buffer the consumer now owns
        except (ConnectionError, ValueError) as exc:
            raise _Dropped(f"connection dropped after {self.received} bytes ({exc})") from exc
        except TimeoutError as exc:
            raise self._timeout(deadline) from exc
        finally:
            conn.close()

    def _check_range(self, response: Response, url: str) -> int:
        """Return how many leading body bytes to discard; learn the total size."""
        if response.status == 206:
            start, total = response.content_range()
            if start != self.received:
                raise _Dropped(f"{redact(url)}: server resumed at {start}, wanted {self.received}")
            if total is not None:
                self.total = total
            return 0
        if response.content_length is not None:
            self.total = response.content_length
        return self.received

    def _proxies(self) -> ProxySettings:
        if self._proxy_settings is None:
            try:
                self._proxy_settings = (self.options.proxy if self.options.proxy is not None
                                        else ProxySettings.from_environ(os.environ))
            except ProxyConfigError as exc:
                raise ProxyError(f"proxy settings from the environment: {exc}") from exc
        return self._proxy_settings

    async def _open(
        self, url: str, deadline: float | None, accept: tuple[int, ...] = (200, 206)
    ) -> tuple[Conn, Body, Response, str]:
        origin = Endpoint.of(urllib.parse.urlsplit(url))
        for _ in range(self.options.max_redirects + 1):
            parts = urllib.parse.urlsplit(url)
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise HttpStatusError(redact(url), 400, "unsupported URL")
            target = Endpoint.of(parts)
            proxy = self._proxies().for_url(target.scheme, target.host, target.port)
            conn = await self._connect(target, proxy, deadline)
            body = Body(conn, lambda: self._read_timeout(deadline), self.options.chunk_size)
            absolute = proxy is not None and target.scheme == "http"
            headers = self._headers(parts, same_origin=target == origin)
            if absolute and proxy is not None and proxy.authorization:
                headers += (("Proxy-Authorization", proxy.authorization),)
            try:
                conn.send(build_request(parts, self.received, self.options.user_agent, absolute=absolute,
                                        headers=headers))
                response = await body.read_head()
            except TimeoutError as exc:
                conn.close()
                raise self._timeout(deadline) from exc
            except (ConnectionError, ValueError) as exc:
                conn.close()
                raise _Dropped(f"{redact(url)}: bad or missing response head ({exc})") from exc
            if response.status in _REDIRECTS and response.location:
                conn.close()
                url = check_redirect(url, urllib.parse.urljoin(url, response.location))
                continue
            if absolute and response.status == 407 and proxy is not None:
                conn.close()
                raise proxy_auth_error(proxy)
            if response.status not in accept:
                conn.close()
                via = f" (through proxy {proxy.display})" if proxy is not None else ""
                raise HttpStatusError(redact(url), response.status, response.reason + via)
            return conn, body, response, url
        raise HttpStatusError(redact(url), 310, f"more than {self.options.max_redirects} redirects")

    def _headers(self, parts: urllib.parse.SplitResult, *, same_origin: bool) -> tuple[tuple[str, str], ...]:
        """The caller's headers, and its credentials only for the origin they were given for: a redirect to
        another host (a CDN, object storage) must not carry them along. Credentials in the URL count as
        Basic credentials for that URL."""
        headers = tuple(self.options.headers)
        credentials = self.options.auth
        if credentials is None and parts.username is not None:
            credentials = Credentials.basic(urllib.parse.unquote(parts.username),
                                            urllib.parse.unquote(parts.password or ""))
        if credentials is not None and same_origin:
            headers += (("Authorization", credentials.header()),)
        return headers

    async def _connect(self, target: Endpoint, proxy: Proxy | None, deadline: float | None) -> Conn:
        timeout = min(self.options.connect_timeout, self._read_timeout(deadline))
        try:
            return await open_conn(target, proxy, chunk_size=self.options.chunk_size, seconds=timeout,
                                   ssl_context=self.options.ssl_context, user_agent=self.options.user_agent)
        except ConnectTimeout as exc:
            raise _Dropped(str(exc)) from exc

    def _read_timeout(self, deadline: float | None) -> float:
        if deadline is None:
            return self.options.read_timeout
        left = deadline - time.monotonic()
        if left <= 0:
            raise self._timeout(deadline)
        return min(self.options.read_timeout, left)

    def _timeout(self, deadline: float | None) -> ReadTimeout:
        if deadline is not None and time.monotonic() >= deadline:
            return ReadTimeout(f"download exceeded the total timeout of {self.options.total_timeout} s",
                               details={"total": True, "received": self.received})
        return ReadTimeout(f"no data for {self.options.read_timeout} s after {self.received} bytes")
