"""Pure parsers for /proc files the inventory reads."""

from __future__ import annotations

from teeth_agent.backend.types import Cpu


def parse_meminfo(text: str) -> int:
    """MemTotal in MiB. The kernel keeps some memory for itself, so this is a little under the DIMM total."""
    for line in text.splitlines():
        key, _, rest = line.partition(":")
        if key.strip() == "MemTotal":
            fields = rest.split()
            if not fields or not fields[0].isdigit():
                break
            kib = int(fields[0])
            return kib // 1024
    raise ValueError("/proc/meminfo has no MemTotal line")


def parse_cpuinfo(text: str, *, architecture: str = "x86_64") -> Cpu:
    """Model, physical cores, hardware threads and sockets from /proc/cpuinfo (x86 layout)."""
    processors = [block for block in text.split("\n\n") if block.strip()]
    if not processors:
        raise ValueError("/proc/cpuinfo lists no processor")
    model = "unknown"
    sockets: set[str] = set()
    cores: set[tuple[str, str]] = set()
    for block in processors:
        fields = _fields(block)
        model = fields.get("model name", model)
        socket = fields.get("physical id", "0")
        sockets.add(socket)
        cores.add((socket, fields.get("core id", str(len(cores)))))
    return Cpu(
        model=model,
        cores=len(cores),
        threads=len(processors),
        sockets=len(sockets),
        architecture=architecture,
    )


def _fields(block: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for line in block.splitlines():
        key, sep, value = line.partition(":")
        if sep:
            out[key.strip()] = value.strip()
    return out
