"""The default boot entry of a grub.cfg, as a kexec target (pure).

Handles what distributions generate: `set default=N`, `"A>B"` paths into submenus, titles and `--id`s,
`${saved_entry}`/`${next_entry}` (unknowable here: the last literal default wins, else 0, as grub does
when the variable is empty), submenus, `linux`/`linuxefi`/`linux16` and `initrd`/`initrdefi`/`initrd16`
(several initrds: the last is the initramfs, earlier ones are microcode), device prefixes like
`($root)/vmlinuz` and `(hd0,gpt2)/boot/vmlinuz`.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field

from teeth_agent.backend.types import KexecTarget

_KERNEL = ("linux", "linuxefi", "linux16")
_INITRD = ("initrd", "initrdefi", "initrd16")
_DEVICE = re.compile(r"^\([^)]*\)")


class GrubConfigError(ValueError):
    """No usable default entry (none at all, or it names no kernel)."""


@dataclass
class Node:
    title: str
    id: str | None = None
    kernel: str | None = None
    args: str = ""
    initrd: str | None = None
    children: list[Node] = field(default_factory=list)
    submenu: bool = False


def parse(text: str) -> tuple[Node, str]:
    """The menu tree and the raw default ("0" when none is literal)."""
    root = Node("", submenu=True)
    stack: list[Node | None] = [root]  # None: a brace block that is not a menu (function, etc.)
    default = "0"
    for raw_line in text.splitlines():
        try:
            words = shlex.split(raw_line, comments=True)
        except ValueError:
            continue  # an unbalanced quote on one line: grub would reject that line too
        if not words:
            continue
        current = stack[-1]
        head = words[0]
        if head in ("menuentry", "submenu"):
            node = _open(words)
            (current.children if current else []).append(node)
            stack.append(node)
        elif head == "}":
            if len(stack) > 1:
                stack.pop()
        elif words[-1] == "{":
            stack.append(None)
        elif head == "set" and len(words) > 1 and words[1].startswith("default=") and current is root:
            value = words[1].split("=", 1)[1]
            if value and "$" not in value:
                default = value
        elif current is not None and not current.submenu:
            _command(current, words)
    return root, default


def _open(words: list[str]) -> Node:
    node = Node(words[1] if len(words) > 1 else "", submenu=words[0] == "submenu")
    for flag in ("--id", "$menuentry_id_option"):  # grub-mkconfig writes the variable, which is --id
        if flag in words and words.index(flag) + 1 < len(words):
            node.id = words[words.index(flag) + 1]
    for word in words:
        if word.startswith("--id="):
            node.id = word.split("=", 1)[1]
    return node


def _command(node: Node, words: list[str]) -> None:
    if words[0] in _KERNEL and len(words) > 1:
        node.kernel = _strip_device(words[1])
        node.args = " ".join(words[2:])
    elif words[0] in _INITRD and len(words) > 1:
        node.initrd = _strip_device(words[-1])


def _strip_device(path: str) -> str:
    return _DEVICE.sub("", path) or path


def _pick(menu: Node, selector: str) -> Node | None:
    entries = menu.children
    if selector.isdigit():
        index = int(selector)
        return entries[index] if index < len(entries) else None
    return next((e for e in entries if selector in (e.title, e.id)), None)


def default_target(text: str) -> KexecTarget:
    root, default = parse(text)
    node: Node | None = root
    for selector in default.split(">"):
        node = _pick(node, selector) if node is not None else None
    if node is None:
        node = _pick(root, "0")  # grub falls back to the first entry when the default names nothing
    while node is not None and node.submenu:
        node = node.children[0] if node.children else None
    if node is None:
        raise GrubConfigError("grub.cfg has no menu entry")
    if node.kernel is None:
        raise GrubConfigError(f"grub default entry {node.title!r} loads no linux kernel")
    return KexecTarget(kernel=node.kernel, initrd=node.initrd, cmdline=node.args)
