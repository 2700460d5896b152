"""The pure planner: strongest allowed method, a reason for every skip, guards, selection."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from teeth_agent.backend.types import AtaSecurity, BlockDevice, NvmeCaps, SanitizeCaps, Transport
from teeth_agent.erase.ladder import LADDER, Facts, Method, blocker
from teeth_agent.erase.params import parse_erase_params
from teeth_agent.erase.planner import DiskPlan, plan_erase
from teeth_agent.errors import InvalidParams

GiB = 1 << 30
ENHANCED = AtaSecurity(supported=True, enhanced_erase_supported=True, erase_minutes=30)


def dev(path: str, **kw: Any) -> BlockDevice:
    return BlockDevice(path=path, size=100 * GiB, serial="SN" + path[-3:], **kw)


def plan_of(disks: list[BlockDevice], **params: Any) -> dict[str, DiskPlan]:
    plan = plan_erase(disks, parse_erase_params(params))
    return {d.device.path: d for d in plan.disks}


def one(d: BlockDevice, **params: Any) -> DiskPlan:
    return plan_of([d], **params)[d.path]


def reasons(p: DiskPlan) -> dict[str, str]:
    return {s.method: s.reason for s in p.skipped}


def test_nvme_with_crypto_format_gets_it_and_skips_nothing() -> None:
    p = one(dev("/dev/nvme0n1", nvme=NvmeCaps(format_supported=True, crypto_erase_supported=True)))
    assert (p.action, p.method, p.skipped) == ("erase", "nvme_crypto_format", ())


def test_nvme_without_crypto_falls_to_user_data_format_with_reasons() -> None:
    p = one(dev("/dev/nvme0n1", nvme=NvmeCaps(format_supported=True)))
    assert p.method == "nvme_format"
    assert "cryptographic erase" in reasons(p)["nvme_crypto_format"]
    assert "sanitize crypto" in reasons(p)["nvme_sanitize_crypto"]


def test_nvme_sanitize_crypto_beats_user_data_format() -> None:
    caps = NvmeCaps(format_supported=True, sanitize=SanitizeCaps(crypto=True, block=True))
    assert one(dev("/dev/nvme0n1", nvme=caps)).method == "nvme_sanitize_crypto"


def test_sata_with_enhanced_erase_skips_every_nvme_method_as_not_nvme() -> None:
    p = one(dev("/dev/sda", ata_security=ENHANCED, transport=Transport.SATA))
    assert p.method == "ata_enhanced_erase"
    assert set(reasons(p)) == {
        "nvme_crypto_format",
        "nvme_sanitize_crypto",
        "nvme_format",
        "nvme_sanitize_block",
    }
    assert all(r == "not an NVMe device" for r in reasons(p).values())


def test_frozen_drive_is_reported_frozen_and_falls_back() -> None:
    frozen = AtaSecurity(supported=True, frozen=True, enhanced_erase_supported=True)
    p = one(dev("/dev/sda", ata_security=frozen, discard_supported=True, discard_zeroes=True))
    assert p.ata_frozen and p.method == "discard"
    assert "frozen" in reasons(p)["ata_enhanced_erase"] and "frozen" in reasons(p)["ata_erase"]


def test_frozen_drive_limited_to_ata_methods_is_refused_as_frozen() -> None:
    frozen = AtaSecurity(supported=True, frozen=True)
    p = one(dev("/dev/sda", ata_security=frozen), methods=["ata_erase"])
    assert p.action == "refuse" and p.ata_frozen
    assert "frozen" in reasons(p)["ata_erase"]


def test_bridge_that_hides_ata_security_is_never_sent_security_commands() -> None:
    p = one(dev("/dev/sdb", ata_security=ENHANCED, ata_security_hidden_by_bridge=True))
    assert p.method == "overwrite"
    assert "bridge" in reasons(p)["ata_erase"]


def test_discard_only_where_zeroes_are_guaranteed() -> None:
    p = one(dev("/dev/vda", discard_supported=True, discard_zeroes=False, write_zeroes_supported=True))
    assert p.method == "write_zeroes"
    assert "zeroes" in reasons(p)["discard"]


def test_allow_overwrite_false_refuses_a_disk_with_nothing_stronger() -> None:
    p = one(dev("/dev/vda"), allow_overwrite=False)
    assert p.action == "refuse" and p.method is None
    assert reasons(p)["overwrite"] == "allow_overwrite is false"


def test_methods_narrow_the_ladder_never_weaker_than_allowed() -> None:
    nv = dev("/dev/nvme0n1", nvme=NvmeCaps(format_supported=True, crypto_erase_supported=True))
    p = one(nv, methods=["nvme_format", "overwrite"])
    assert p.method == "nvme_format"
    assert reasons(p)["nvme_crypto_format"] == "not in the allowed methods"


@pytest.mark.parametrize(
    ("kw", "word"),
    [
        ({"read_only": True}, "read-only"),
        ({"raid_member": True}, "RAID"),
        ({"fs_signatures": ("ext4", "GFS2")}, "clustered"),
        ({"fs_signatures": ("ocfs2",)}, "clustered"),
        ({"is_boot_medium": True}, "booted"),
    ],
)
def test_guards_skip_in_the_default_selection_and_refuse_when_named(kw: dict[str, Any], word: str) -> None:
    d = dev("/dev/sdc", **kw)
    skipped = one(d)
    assert skipped.action == "skip" and word in (skipped.reason or "")
    refused = one(d, devices=["/dev/sdc"])
    assert refused.action == "refuse" and word in (refused.reason or "")


def test_selection_by_path_serial_and_wwn_and_skip() -> None:
    disks = [dev("/dev/sda"), dev("/dev/sdb", wwn="0x50014ee"), dev("/dev/sdc"), dev("/dev/sdd")]
    plans = plan_of(disks, devices=["sda", "SNsdc", "0x50014ee"])
    assert [plans[p].action for p in sorted(plans)] == ["erase", "erase", "erase", "skip"]
    assert plans["/dev/sdd"].reason == "not listed in devices"
    plans = plan_of(disks, skip=["SNsdb"])
    assert plans["/dev/sdb"].action == "skip" and plans["/dev/sdb"].reason == "listed in skip"


def test_removable_media_are_only_erased_when_named() -> None:
    usb = dev("/dev/sdu", removable=True, transport=Transport.USB)
    assert one(usb).action == "skip"
    assert one(usb, devices=["/dev/sdu"]).action == "erase"


@pytest.mark.parametrize(("key", "name"), [("devices", "/dev/sdz"), ("skip", "NOPE")])
def test_unknown_devices_are_invalid_params(key: str, name: str) -> None:
    with pytest.raises(InvalidParams) as err:
        plan_of([dev("/dev/sda")], **{key: [name]})
    assert err.value.field == key and name in err.value.msg


def test_ambiguous_serial_is_invalid_params() -> None:
    twins = [BlockDevice("/dev/sda", GiB, serial="SAME"), BlockDevice("/dev/sdb", GiB, serial="SAME")]
    with pytest.raises(InvalidParams, match="ambiguous"):
        plan_of(twins, devices=["SAME"])


def test_same_disk_named_two_ways_in_devices_and_skip_is_a_contradiction() -> None:
    with pytest.raises(InvalidParams) as err:
        plan_of([dev("/dev/sda")], devices=["/dev/sda"], skip=["SNsda"])
    assert err.value.field == "skip"


def test_locked_drive_without_password_is_refused_with_password_is_released_first() -> None:
    locked = AtaSecurity(supported=True, enabled=True, locked=True, enhanced_erase_supported=True)
    d = dev("/dev/sda", ata_security=locked)
    p = one(d)
    assert p.action == "refuse" and "ata_password" in (p.reason or "")
    p = one(d, ata_password="known")
    assert (p.action, p.method, p.release_password) == ("erase", "ata_enhanced_erase", True)


def test_quick_mode_still_honours_guards() -> None:
    plans = plan_of([dev("/dev/sda"), dev("/dev/sdb", raid_member=True)], mode="quick")
    assert plans["/dev/sda"].method == "wipe_signatures"
    assert plans["/dev/sdb"].action == "skip"


def test_plan_json_explains_each_disk() -> None:
    plan = plan_erase([dev("/dev/sda"), dev("/dev/sdb", read_only=True)], parse_erase_params({}))
    out = plan.to_json()
    assert [d["action"] for d in out["disks"]] == ["erase", "skip"]
    assert out["disks"][1]["reason"] == "device is read-only"
    assert out["disks"][0]["method"] == "overwrite" and len(out["disks"][0]["skipped_methods"]) == 8


ata = st.none() | st.builds(
    AtaSecurity,
    supported=st.booleans(),
    enabled=st.booleans(),
    locked=st.booleans(),
    frozen=st.booleans(),
    count_expired=st.booleans(),
    enhanced_erase_supported=st.booleans(),
)
nvme = st.none() | st.builds(
    NvmeCaps,
    format_supported=st.booleans(),
    crypto_erase_supported=st.booleans(),
    sanitize=st.builds(SanitizeCaps, crypto=st.booleans(), block=st.booleans()),
)
devices = st.builds(
    BlockDevice,
    path=st.just("/dev/x"),
    size=st.just(GiB),
    ata_security=ata,
    ata_security_hidden_by_bridge=st.booleans(),
    nvme=nvme,
    discard_supported=st.booleans(),
    discard_zeroes=st.booleans(),
    write_zeroes_supported=st.booleans(),
    read_only=st.booleans(),
)
method_sets = st.lists(st.sampled_from([m.value for m in LADDER]), min_size=1, unique=True)


@settings(deadline=None)  # no timing in tests: a slow CI box is not a failure
@given(d=devices, methods=method_sets, allow_overwrite=st.booleans(), password=st.sampled_from([None, "pw"]))
def test_chosen_method_is_allowed_possible_and_the_strongest_such(
    d: BlockDevice, methods: list[str], allow_overwrite: bool, password: str | None
) -> None:
    if not allow_overwrite and "overwrite" in methods:
        methods = [m for m in methods if m != "overwrite"] or ["discard"]
    params = parse_erase_params(
        {"methods": methods, "allow_overwrite": allow_overwrite, "ata_password": password}
    )
    p = plan_erase([d], params).disks[0]
    facts = Facts(ata_password_known=password is not None)
    if p.action != "erase":
        assert p.reason
        return
    chosen = Method(p.method)
    assert params.allowed(chosen) and blocker(chosen, d, facts) is None
    assert chosen is not Method.OVERWRITE or allow_overwrite
    stronger = LADDER[: LADDER.index(chosen)]
    assert [s.method for s in p.skipped] == [m.value for m in stronger]
    assert all(s.reason for s in p.skipped)


def test_format_for_all_namespaces_is_skipped_when_a_sibling_namespace_is_spared() -> None:
    caps = NvmeCaps(
        format_supported=True,
        crypto_erase_supported=True,
        crypto_erase_applies_to_all_namespaces=True,
        sanitize=SanitizeCaps(crypto=True),
    )
    n1, n2 = dev("/dev/nvme0n1", nvme=caps), dev("/dev/nvme0n2", nvme=caps)
    other = dev("/dev/nvme1n1", nvme=caps)
    plans = plan_of([n1, n2, other], skip=["/dev/nvme0n2"])
    p = plans["/dev/nvme0n1"]
    assert p.method == "nvme_format"  # per-namespace user-data format still fits
    assert "nvme0n2" in reasons(p)["nvme_crypto_format"] and "nvme0n2" in reasons(p)["nvme_sanitize_crypto"]
    assert plans["/dev/nvme1n1"].method == "nvme_crypto_format"  # another controller is unaffected
    both = plan_of([n1, n2, other])
    assert both["/dev/nvme0n1"].method == both["/dev/nvme0n2"].method == "nvme_crypto_format"


def test_namespaces_hidden_from_the_agent_are_spared_like_visible_ones() -> None:
    # An allowlist shows the agent nvme0n1 only, but the controller has two active namespaces: a
    # controller-wide erase would reach the one it cannot see.
    caps = NvmeCaps(
        format_supported=True,
        crypto_erase_supported=True,
        crypto_erase_applies_to_all_namespaces=True,
        sanitize=SanitizeCaps(crypto=True),
        namespace_count=2,
    )
    p = one(dev("/dev/nvme0n1", nvme=caps))
    assert p.method == "nvme_format"
    assert "1 namespace(s) not visible" in reasons(p)["nvme_sanitize_crypto"]
    alone = dataclasses.replace(caps, namespace_count=1)
    assert one(dev("/dev/nvme0n1", nvme=alone)).method == "nvme_crypto_format"


def test_enabled_drive_with_unknown_password_is_erased_otherwise_and_warned_about() -> None:
    enabled = AtaSecurity(supported=True, enabled=True, enhanced_erase_supported=True)
    p = one(dev("/dev/sda", ata_security=enabled))
    assert p.method == "overwrite" and "locked at its next power-up" in p.warnings[0]
    assert one(dev("/dev/sda", ata_security=enabled), ata_password="pw").warnings == ()


guarded_disks = st.lists(
    st.builds(
        BlockDevice,
        path=st.sampled_from([f"/dev/sd{c}" for c in "abcdef"]),
        size=st.just(GiB),
        read_only=st.booleans(),
        raid_member=st.booleans(),
        is_boot_medium=st.booleans(),
        removable=st.booleans(),
        fs_signatures=st.sampled_from([(), ("ext4",), ("gfs2",), ("vmfs",)]),
    ),
    min_size=1,
    max_size=6,
    unique_by=lambda d: d.path,
)


@settings(deadline=None)
@given(disks=guarded_disks, data=st.data())
def test_nothing_guarded_skipped_or_unselected_is_ever_planned_for_erasure(
    disks: list[BlockDevice], data: st.DataObject
) -> None:
    paths = [d.path for d in disks]
    devices = data.draw(st.none() | st.lists(st.sampled_from(paths), min_size=1, unique=True))
    rest = [p for p in paths if p not in (devices or [])]
    skip = data.draw(st.lists(st.sampled_from(rest), unique=True)) if rest else []
    params: dict[str, Any] = {"skip": skip} if devices is None else {"skip": skip, "devices": devices}
    plans = plan_of(disks, **params)
    assert set(plans) == set(paths)  # every disk is accounted for
    for d in disks:
        p = plans[d.path]
        if p.action != "erase":
            assert p.reason
            continue
        named = devices is not None and d.path in devices
        assert d.path not in skip and (devices is None or named)
        assert not (d.read_only or d.raid_member or d.is_boot_medium)
        assert not {"gfs2", "vmfs"} & set(d.fs_signatures)
        assert named or not d.removable
