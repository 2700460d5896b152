"""Digests over a stream fed in pieces: in order, whether a piece is hashed at once or in the thread."""

from __future__ import annotations

import hashlib
import random

import pytest

from teeth_agent.images.errors import ChecksumMismatch
from teeth_agent.images.hashing import BackgroundHasher, MultiHasher


def test_small_and_large_pieces_are_hashed_in_stream_order() -> None:
    rng = random.Random(5)
    pieces = [rng.randbytes(rng.choice([10, 100, 5000, 20_000])) for _ in range(200)]
    multi = MultiHasher(("sha256", "md5"))
    background = BackgroundHasher(multi, backlog=2, inline_bytes=1000)
    for piece in pieces:
        background.feed(piece)
    background.close()
    whole = b"".join(pieces)
    assert multi.hexdigests() == {"sha256": hashlib.sha256(whole).hexdigest(),
                                  "md5": hashlib.md5(whole).hexdigest()}


def test_a_wrong_digest_is_caught_when_every_piece_was_small() -> None:
    multi = MultiHasher(("sha256",))
    background = BackgroundHasher(multi)
    background.feed(b"image")
    background.close()
    multi.verify({"sha256": hashlib.sha256(b"image").hexdigest()})
    with pytest.raises(ChecksumMismatch):
        multi.verify({"sha256": hashlib.sha256(b"other").hexdigest()})
