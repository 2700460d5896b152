"""The write path's buffer pool and Assembler: bounded buffers, made only when needed."""

from __future__ import annotations

import ctypes
import io
import mmap
import random
import threading

import pytest

from teeth_agent.images.buffers import BufferPool, prefault
from teeth_agent.images.decompress import Compression, open_reader
from teeth_agent.images.writer import Aborted, Assembler, Filled

SIZE = 64 * 1024


def assemble(data: bytes, pool: BufferPool, recycle: bool = True) -> list[tuple[int, bytes]]:
    """Run an Assembler over `data` (plain), giving each posted buffer back at once, like a fast disk."""
    writes: list[tuple[int, bytes]] = []

    def post(item: Filled) -> None:
        writes.append((item.offset, bytes(item.buf[: item.length])))
        if recycle:
            pool.put(item.buf)

    assembler = Assembler(pool, post, capacity=len(data))
    assembler.fill_from(open_reader(Compression.NONE, io.BytesIO(data)))
    assembler.finish()
    return writes


def test_a_small_stream_makes_one_buffer() -> None:
    pool = BufferPool(3, SIZE)
    assert assemble(b"x" * 1000, pool) == [(0, b"x" * 1000)]
    assert pool.made == 1


def test_buffers_are_reused_before_more_are_made() -> None:
    data = random.Random(3).randbytes(10 * SIZE + 5)
    pool = BufferPool(3, SIZE)
    writes = assemble(data, pool)
    assert b"".join(piece for _, piece in writes) == data
    assert [offset for offset, _ in writes] == [i * SIZE for i in range(11)]
    assert pool.made == 1  # every buffer came back before the next was needed


def test_never_more_buffers_than_the_pool_holds() -> None:
    pool = BufferPool(2, SIZE)
    posted: list[Filled] = []
    assembler = Assembler(pool, posted.append, capacity=1 << 30)
    outcome: list[BaseException] = []

    def decode_thread() -> None:
        try:
            assembler.push(bytes(3 * SIZE))
        except Aborted as exc:
            outcome.append(exc)

    worker = threading.Thread(target=decode_thread)
    worker.start()
    while len(posted) < 2 and worker.is_alive():  # fills two buffers, then waits for one back
        worker.join(0.01)
    pool.put(None)  # tear down: the waiting decode thread stops
    worker.join()
    assert pool.made == 2 and len(posted) == 2 and len(outcome) == 1


def test_buffers_are_page_aligned() -> None:
    pool = BufferPool(2, SIZE)
    first, second = pool.get(), pool.get(large=True)
    assert first is not None and second is not None
    for buf in (first, second):  # the lazily faulted kind and the pre-faulted kind
        assert len(buf) == SIZE
        assert ctypes.addressof(ctypes.c_char.from_buffer(buf)) % mmap.PAGESIZE == 0  # as O_DIRECT wants


def test_a_pool_needs_a_buffer() -> None:
    with pytest.raises(ValueError, match="at least one"):
        BufferPool(0)


def test_a_prefaulted_buffer_reads_as_zeroes_and_takes_writes() -> None:
    buf = mmap.mmap(-1, SIZE, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
    prefault(buf)  # on a kernel without MADV_POPULATE_WRITE it is refused, and the pages fault in as written
    assert buf[:] == bytes(SIZE)
    buf[SIZE - 5 :] = b"hello"
    assert buf[SIZE - 5 :] == b"hello"
    buf.close()  # the ctypes view that prefault took is released: the mapping can be closed
