"""Pure parsers for ATA security state: `hdparm -I` and `smartctl -g security` output.

hdparm prints the IDENTIFY DEVICE security words as a "Security:" section of tab-indented flags, where a
leading "not" negates the flag on that line, followed by the drive's own erase-time estimates:

    Security:
            Master password revision code = 65534
                    supported
            not     enabled
            not     locked
                    frozen
            not     expired: security count
                    supported: enhanced erase
            2min for SECURITY ERASE UNIT. 8min for ENHANCED SECURITY ERASE UNIT.

smartctl prints the same word 128 as one line ("ATA Security is:  Disabled, NOT FROZEN [SEC1]"). It is
asked when hdparm shows no section at all, which is what a USB/SAS bridge that does not pass the ATA
security commands through looks like.
"""

from __future__ import annotations

import re

from teeth_agent.backend.types import AtaSecurity

_FLAGS = {
    "supported": "supported",
    "enabled": "enabled",
    "locked": "locked",
    "frozen": "frozen",
    "expired: security count": "count_expired",
    "supported: enhanced erase": "enhanced_erase_supported",
}
_FLAG_LINE = re.compile(
    r"^\s*(not)?\s*(supported|enabled|locked|frozen|expired: security count|"
    r"supported: enhanced erase)\s*$"
)
# hdparm prints 508 (with or without ">") for the "more than 508 minutes" encoding of word 89/90.
_ERASE_TIME = re.compile(r">?(\d+)\s*min for (ENHANCED )?SECURITY ERASE UNIT")
_SECTION_END = re.compile(r"^\S")


def _security_section(text: str) -> list[str] | None:
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if line.strip().startswith("Security:") and not line.startswith((" ", "\t")):
            body: list[str] = []
            for following in lines[i + 1 :]:
                if following.strip() and _SECTION_END.match(following):
                    break
                body.append(following)
            return body
    return None


def parse_hdparm_identify(text: str) -> AtaSecurity | None:
    """The security state from `hdparm -I` output; None when the drive shows no Security section.

    A section without the status word's flag lines (word 128 reads zero) is reported as not supported:
    without the state machine's flags nothing about the drive can be trusted enough to erase with it.
    """
    body = _security_section(text)
    if body is None:
        return None
    flags: dict[str, bool] = {}
    erase: int | None = None
    enhanced: int | None = None
    for line in body:
        match = _FLAG_LINE.match(line)
        if match:
            flags[_FLAGS[match.group(2)]] = match.group(1) is None
            continue
        for minutes, is_enhanced in _ERASE_TIME.findall(line):
            if is_enhanced:
                enhanced = int(minutes)
            else:
                erase = int(minutes)
    return AtaSecurity(
        supported=flags.get("supported", False),
        enabled=flags.get("enabled", False),
        locked=flags.get("locked", False),
        frozen=flags.get("frozen", False),
        count_expired=flags.get("count_expired", False),
        enhanced_erase_supported=flags.get("enhanced_erase_supported", False),
        erase_minutes=erase,
        enhanced_erase_minutes=enhanced,
    )


_FIRMWARE = re.compile(r"^\s*Firmware Revision:\s*(\S.*?)\s*$", re.MULTILINE)


def parse_hdparm_firmware(text: str) -> str | None:
    """The "Firmware Revision:" of `hdparm -I` output, when present."""
    match = _FIRMWARE.search(text)
    return match.group(1) if match else None


_SMART_SECURITY = re.compile(r"^ATA Security is:\s*(.*?)\s*$", re.MULTILINE)


def parse_smartctl_security(text: str) -> AtaSecurity | None:
    """The security state from `smartctl -g security` output.

    None when smartctl could not read it ("Unavailable", or no such line because the device type or
    bridge is unknown). smartctl does not report the erase times or enhanced-erase support.
    """
    match = _SMART_SECURITY.search(text)
    if match is None or match.group(1).startswith("Unavailable"):
        return None
    state = match.group(1)
    lowered = state.lower()
    if state.startswith("Disabled"):
        return AtaSecurity(supported=True, frozen=lowered.count("not frozen") == 0 and "frozen" in lowered)
    if not state.startswith("ENABLED"):
        raise ValueError(f"unrecognised smartctl security state: {state!r}")
    locked = "**locked**" in lowered
    return AtaSecurity(
        supported=True,
        enabled=True,
        locked=locked,
        frozen="not frozen" not in lowered and "frozen" in lowered,
        count_expired="attempts exceeded" in lowered,
    )
