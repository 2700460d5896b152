"""Errors of the image pipeline; each is a CommandError so the registry turns it into a wire error.

ImageError
├── DownloadError          every URL failed (each URL's reason is in `details`)
│   └── HttpStatusError    a 4xx/5xx answer (4xx is never retried on the same URL)
├── ReadTimeout            no byte arrived within the per-read timeout, or the total timeout expired
├── ChecksumMismatch       the bytes received do not hash to what the image spec says
├── ImageFormatError       content is not the declared format, or a qcow2 the agent refuses to convert
├── CorruptImage           a compressed stream that ends early or does not decode
├── ImageTooLarge          the image does not fit the target
└── UnsupportedCompression the content is compressed with something this ramdisk cannot decode
"""

from __future__ import annotations

from typing import Any

from teeth_agent.commands.errors import CommandError


class ImageError(CommandError):
    type = "image_error"


class DownloadError(ImageError):
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


class ChecksumMismatch(ImageError):
    type = "checksum_mismatch"

    def __init__(self, algorithm: str, expected: str, actual: str) -> None:
        details: dict[str, Any] = {"algorithm": algorithm, "expected": expected, "actual": actual}
        super().__init__(f"{algorithm} mismatch: expected {expected}, got {actual}", details=details)


class ImageFormatError(ImageError):
    type = "image_format"


class CorruptImage(ImageError):
    type = "corrupt_image"


class ImageTooLarge(ImageError):
    type = "image_too_large"


class UnsupportedCompression(ImageError):
    type = "unsupported"
