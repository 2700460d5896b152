"""Errors of the HTTP client, a tree of its own: the client knows nothing of commands or images.

HttpError
├── DownloadError          every URL failed (each URL's reason is in `details`)
│   ├── HttpStatusError    a 4xx/5xx answer (4xx is never retried on the same URL)
│   ├── RedirectRefused    a redirect to another scheme, or from https down to http (never followed)
│   └── ProxyError         the proxy is unreachable, refuses the request, or wants credentials not given
└── ReadTimeout            no byte arrived within the per-read timeout, or the total timeout expired

Each carries the wire error `type` it becomes; the command registry maps the tree to wire errors, as it
does BackendError.
"""

from __future__ import annotations

import urllib.parse
from typing import Any


class HttpError(Exception):
    type = "download_failed"

    def __init__(self, msg: str, *, details: dict[str, Any] | None = None) -> None:
        super().__init__(msg)
        self.msg = msg
        self.details = details


class DownloadError(HttpError):
    type = "download_failed"


class HttpStatusError(DownloadError):
    type = "http_status"

    def __init__(self, url: str, status: int, reason: str) -> None:
        super().__init__(f"{url}: HTTP {status} {reason}".rstrip(), details={"url": url, "status": status})
        self.status = status

    @property
    def retryable(self) -> bool:
        """4xx means the request itself is wrong: asking again cannot help."""
        return not 400 <= self.status < 500


class ReadTimeout(DownloadError):
    type = "timeout"


class RedirectRefused(DownloadError):
    type = "download_failed"


class ProxyError(DownloadError):
    type = "proxy_error"


def redact(url: str) -> str:
    """The URL without userinfo, for messages and logs: credentials in a URL are never repeated."""
    parts = urllib.parse.urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return urllib.parse.urlunsplit(parts._replace(netloc="***@" + parts.netloc.rpartition("@")[2]))
