"""Errors of the image pipeline; each is a CommandError so the registry turns it into a wire error.

Download failures are the HTTP client's own tree (`teeth_agent.http.errors`), which the registry maps too.

ImageError
├── ChecksumMismatch       the bytes received do not hash to what the image spec says
├── ImageFormatError       content is not the declared format, or a qcow2 the agent refuses to convert
├── CorruptImage           a compressed stream that ends early or does not decode
├── ImageTooLarge          the image does not fit the target
└── UnsupportedCompression the content is compressed with something this ramdisk cannot decode
"""

from __future__ import annotations

from typing import Any

from teeth_agent.errors import CommandError


class ImageError(CommandError):
    type = "image_error"


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
