"""One streaming pass: bytes from a source -> hash -> decompress -> aligned writes to a target.

Three stages overlap: the event loop reads the network (producer) and drives the disk writes (writer);
a worker thread hashes and decodes between them. Two bounded queues join them (received chunks; a
fixed pool of write buffers), so memory is bounded whatever the image size and the slowest stage sets
the pace. A bootable target is marked not bootable before the first byte and on any failure, and its
first MiB is written last, only after every digest matched — so a disk is never left bootable with
anything but exactly the image asked for. Sampled blocks are then read back (`readback`): the disk must
have kept what it acknowledged.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator, Mapping
from dataclasses import dataclass
from typing import Protocol

from teeth_agent.backend.api import BlockHandle, Progress, no_progress
from teeth_agent.http.errors import HttpError
from teeth_agent.images.buffers import BufferPool
from teeth_agent.images.errors import ImageError
from teeth_agent.images.hashing import BackgroundHasher, MultiHasher
from teeth_agent.images.qcow2 import Qcow2Info
from teeth_agent.images.readback import ReadBack
from teeth_agent.images.worker import ABORT, Decoded, DecodeJob, ThreadSource, decode
from teeth_agent.images.writer import (
    Aborted,
    Assembler,
    Filled,
    HeadHold,
    commit_head,
    mark_not_bootable,
    write_buffers,
)

CHUNKS_IN_FLIGHT = 2
WRITE_BUFFERS = 3
COALESCE = 2 << 20


class ByteSource(Protocol):
    @property
    def total(self) -> int | None:
        """Bytes the source will deliver, once known (e.g. after the HTTP response head)."""
        ...

    def chunks(self) -> AsyncGenerator[bytes, None]: ...


@dataclass(frozen=True)
class Target:
    handle: BlockHandle
    base: int = 0
    capacity: int | None = None  # default: from base to the end of the handle
    # A disk someone may boot: not bootable while written, first MiB held back until verified.
    bootable: bool = False
    # The decoded size the image declares (its spec's `size`): decoding past it stops the stream.
    declared_size: int | None = None


@dataclass(frozen=True)
class StreamResult:
    received: int  # bytes from the source (what the digests cover)
    size: int  # bytes after decompression (written from the target's base, padded to its alignment)
    compression: str
    hashes: dict[str, str]
    qcow2: Qcow2Info | None


async def stream_image(
    source: ByteSource,
    target: Target,
    expected: Mapping[str, str],
    job: DecodeJob,
    progress: Progress = no_progress,
) -> StreamResult:
    handle = target.handle
    if target.base % handle.alignment:
        raise ValueError(f"target base {target.base} is not aligned to {handle.alignment}")
    capacity = target.capacity if target.capacity is not None else handle.size - target.base
    hasher = MultiHasher(tuple(expected))
    hold = HeadHold() if target.bootable else None
    readback = ReadBack(handle.alignment)
    if target.bootable:
        await mark_not_bootable(handle)
    try:
        received, decoded = await _run_stages(source, target, capacity, hasher, hold, readback, job, progress)
        hashes = hasher.verify(expected)
        if hold is not None:
            await commit_head(handle, hold)
            readback.note_bytes(0, bytes(hold.data[: handle.alignment]).ljust(handle.alignment, b"\0"))
        else:
            await handle.flush()
        await readback.verify(handle)
    except BaseException:
        if target.bootable:
            with contextlib.suppress(Exception):
                await mark_not_bootable(handle)
        raise
    return StreamResult(received, decoded.size, decoded.compression.value, hashes, decoded.qcow2)


async def _run_stages(
    source: ByteSource,
    target: Target,
    capacity: int,
    hasher: MultiHasher,
    hold: HeadHold | None,
    readback: ReadBack,
    job: DecodeJob,
    progress: Progress,
) -> tuple[int, Decoded]:
    loop = asyncio.get_running_loop()
    chunks: asyncio.Queue[bytes | None] = asyncio.Queue(maxsize=CHUNKS_IN_FLIGHT)
    filled: asyncio.Queue[Filled | None] = asyncio.Queue()
    pool = BufferPool(WRITE_BUFFERS)
    thread_source = ThreadSource(loop, chunks, BackgroundHasher(hasher))
    assembler = Assembler(pool, lambda item: loop.call_soon_threadsafe(filled.put_nowait, item), capacity,
                          target.declared_size)

    def end_of_writes() -> None:
        loop.call_soon_threadsafe(filled.put_nowait, None)

    async def run_decoder() -> Decoded:
        future = loop.run_in_executor(None, decode, job, thread_source, assembler, end_of_writes)
        try:
            return await asyncio.shield(future)
        except asyncio.CancelledError:
            thread_source.aborted.set()
            pool.put(None)
            _replace_with_abort(chunks)
            await asyncio.wait([future])
            if not future.cancelled():
                future.exception()  # retrieved: the thread's Aborted is expected here
            raise

    try:
        async with asyncio.TaskGroup() as group:
            producer = group.create_task(_produce(source, chunks, progress))
            group.create_task(write_buffers(target.handle, target.base, filled, pool, hold, readback))
            decoder = group.create_task(run_decoder())
    except BaseExceptionGroup as group_error:
        raise _primary(group_error) from None
    return producer.result(), decoder.result()


async def _produce(source: ByteSource, chunks: asyncio.Queue[bytes | None], progress: Progress) -> int:
    """Network -> queue, coalescing socket-sized reads into ~1 MiB so the thread hops stay few."""
    received = 0
    batch: list[bytes] = []
    batched = 0
    async with contextlib.aclosing(source.chunks()) as stream:
        async for chunk in stream:
            batch.append(chunk)
            batched += len(chunk)
            if batched >= COALESCE:
                await chunks.put(b"".join(batch) if len(batch) > 1 else batch[0])
                received += batched
                batch, batched = [], 0
                progress(received, source.total or 0)
    if batch:
        await chunks.put(b"".join(batch))
        received += batched
        progress(received, source.total or 0)
    await chunks.put(None)
    return received


def _replace_with_abort(chunks: asyncio.Queue[bytes | None]) -> None:
    while not chunks.empty():
        chunks.get_nowait()
    chunks.put_nowait(ABORT)


def _primary(group_error: BaseExceptionGroup[BaseException]) -> BaseException:
    """The error that caused the teardown, not the cancellations it caused."""
    leaves: list[BaseException] = []

    def walk(error: BaseException) -> None:
        if isinstance(error, BaseExceptionGroup):
            for inner in error.exceptions:
                walk(inner)
        else:
            leaves.append(error)

    walk(group_error)
    for kind in (ImageError, HttpError, Exception):
        for error in leaves:
            if isinstance(error, kind) and not isinstance(error, Aborted):
                return error
    return leaves[0]
