"""Parse the agent's options out of a kernel command line (pure; no file access here).

The ramdisk is booted with e.g.
`teeth.endpoint=tcp://10.0.0.1:9999,tls://10.0.0.2:9999 teeth.log_level=debug`.
`teeth.endpoint` may repeat and may hold a comma-separated list; order is kept (it is the failover order).
Every other `teeth.NAME=VALUE` lands in `options` under NAME; the last occurrence wins, as the kernel does.
Words after a lone `--` belong to init, not to the kernel, and are ignored.
"""

from __future__ import annotations

from dataclasses import dataclass, field

PREFIX = "teeth."


class CmdlineError(ValueError):
    """The command line cannot be parsed; the message names what is wrong."""


@dataclass(frozen=True)
class KernelOptions:
    endpoints: tuple[str, ...] = ()
    options: dict[str, str] = field(default_factory=dict)

    def get(self, name: str) -> str | None:
        return self.options.get(name)


def split_words(text: str) -> list[str]:
    """Split like the kernel: whitespace separates words, double quotes group (and are removed)."""
    words: list[str] = []
    current: list[str] = []
    in_word = False
    quoted = False
    for ch in text:
        if ch == '"':
            quoted = not quoted
            in_word = True
        elif ch.isspace() and not quoted:
            if in_word:
                words.append("".join(current))
                current, in_word = [], False
        else:
            current.append(ch)
            in_word = True
    if quoted:
        raise CmdlineError("unterminated double quote in kernel command line")
    if in_word:
        words.append("".join(current))
    return words


def parse_cmdline(text: str) -> KernelOptions:
    endpoints: list[str] = []
    options: dict[str, str] = {}
    for word in split_words(text):
        if word == "--":
            break
        if not word.startswith(PREFIX):
            continue
        name, sep, value = word[len(PREFIX) :].partition("=")
        if not name:
            raise CmdlineError(f"kernel parameter {word!r} has no option name after {PREFIX!r}")
        if name == "endpoint":
            if not sep or not value.strip():
                raise CmdlineError("teeth.endpoint= needs a URL (e.g. teeth.endpoint=tcp://host:9999)")
            endpoints.extend(split_list(value))
        else:
            options[name] = value if sep else "1"
    return KernelOptions(endpoints=tuple(endpoints), options=options)


def split_list(value: str) -> list[str]:
    """Split a comma-separated list, dropping empty items and surrounding spaces."""
    return [item.strip() for item in value.split(",") if item.strip()]
