"""NVMe format (SES 0/1/2, FNA) and sanitize with its progress log."""

from __future__ import annotations

from pathlib import Path

import pytest
from sim_helpers import MINIMAL, ProgressLog, fast, from_toml

from simulator.machine.extents import ZERO
from simulator.machine.nvme import SSTAT_SUCCESS
from teeth_agent.backend.errors import ToolError

NVME = "/dev/nvme0n1"
CANARY = b"canary!!" * 512


async def _canary(b: object, path: str) -> None:
    handle = await b.open_block(path, writable=True)  # type: ignore[attr-defined]
    await handle.write_at(4096 * 10, CANARY)
    await handle.close()


async def _read(b: object, path: str) -> bytes:
    handle = await b.open_block(path, writable=False)  # type: ignore[attr-defined]
    return bytes(await handle.read_at(4096 * 10, len(CANARY)))


async def test_crypto_format_leaves_garbage_not_the_canary() -> None:
    b = fast("1u-nvme")
    await _canary(b, NVME)
    await b.nvme_format(NVME, ses=2, progress=ProgressLog())
    after = await _read(b, NVME)
    assert after != CANARY and after != bytes(len(CANARY))


async def test_user_data_format_zeroes_and_ses0_keeps_data() -> None:
    b = fast("1u-nvme")
    await _canary(b, NVME)
    await b.nvme_format(NVME, ses=0, progress=ProgressLog())
    assert await _read(b, NVME) == CANARY
    await b.nvme_format(NVME, ses=1, progress=ProgressLog())
    assert b.machine.disk(NVME).content.is_fill(ZERO)


async def test_bad_ses_and_crypto_without_support_fail_like_nvme_cli(tmp_path: Path) -> None:
    b = fast("1u-nvme")
    with pytest.raises(ToolError, match="INVALID_FIELD"):
        await b.nvme_format(NVME, ses=3, progress=ProgressLog())
    disk = '[[disks]]\ntransport = "nvme"\nmodel = "N"\nsize = "1T"\n[disks.nvme]\n'
    plain = from_toml(tmp_path, MINIMAL + disk)
    with pytest.raises(ToolError, match="INVALID_FIELD"):
        await plain.nvme_format(NVME, ses=2, progress=ProgressLog())
    with pytest.raises(ToolError, match="INVALID_OPCODE"):
        await plain.nvme_sanitize(NVME, action="block", progress=ProgressLog())
    with pytest.raises(ToolError, match="Inappropriate ioctl"):
        await fast("vm").nvme_format("/dev/vda", ses=1, progress=ProgressLog())


async def test_fna_format_applies_to_every_namespace_of_the_controller(tmp_path: Path) -> None:
    toml = MINIMAL + "".join(
        f'[[disks]]\nname = "nvme0n{i}"\ntransport = "nvme"\nmodel = "N"\nsize = "1T"\n'
        "[disks.nvme]\nformat_all_namespaces = true\n" for i in (1, 2)
    )
    b = from_toml(tmp_path, toml)
    await _canary(b, "/dev/nvme0n2")
    await b.nvme_format("/dev/nvme0n1", ses=1, progress=ProgressLog())
    assert await _read(b, "/dev/nvme0n2") == bytes(len(CANARY))


async def test_sanitize_reports_progress_in_its_log() -> None:
    b = fast("1u-nvme")
    await _canary(b, NVME)
    log = ProgressLog()
    await b.nvme_sanitize(NVME, action="block", progress=log)
    sanitize_log = b.sanitize_log(NVME)
    sprogs = [s for _, s in sanitize_log.history]
    assert sprogs == sorted(sprogs) and sprogs[-1] == 65535 and sanitize_log.sstat == SSTAT_SUCCESS
    assert log.calls[-1] == (900.0, 900.0)
    assert await _read(b, NVME) == bytes(len(CANARY))
    with pytest.raises(ToolError, match="INVALID_FIELD"):
        await b.nvme_sanitize(NVME, action="overwrite", progress=ProgressLog())
