"""Pure firmware planning: match by component/vendor/model; unsupported stays unsupported."""

from __future__ import annotations

from fw_fakes import comp

from teeth_agent.firmware.manifest import parse_manifest
from teeth_agent.firmware.plan import plan_firmware

SHA = "0" * 64


def manifest(*entries: dict[str, object], **kw: object) -> object:
    fw = [
        {
            "component": c,
            "match": m,
            "version": v,
            "image": {"urls": ["http://127.0.0.1/x"], "hashes": {"sha256": SHA}},
        }
        for c, m, v in entries  # type: ignore[misc]
    ]
    return parse_manifest({"firmware": fw, **kw})


def test_actions_per_component() -> None:
    comps = [
        comp("bios", "bios", "1.0"),
        comp("bmc", "bmc", "5.0", updatable=False, reason="no updater for virtual hardware"),
        comp("nvme0", "disk", "A1", model="PM983"),
        comp("nvme1", "disk", "A1", model="Other"),
        comp("eth0", "nic", "22.0"),
    ]
    m = manifest(
        ("bios", {}, "1.1"), ("bmc", {}, "6.0"), ("disk", {"model": "pm983 "}, "A1"), ("gpu", {}, "9")
    )
    plan = plan_firmware(comps, m, {}, None)  # type: ignore[arg-type]
    kinds = {a.component.id: a.kind for a in plan.components}
    assert kinds == {
        "bios": "update",
        "bmc": "unsupported",
        "nvme0": "up_to_date",
        "nvme1": "unmanaged",
        "eth0": "unmanaged",
    }
    assert plan.components[1].reason == "no updater for virtual hardware"
    assert [e.component for e in plan.not_present] == ["gpu"]


def test_vendor_must_match_when_given() -> None:
    m = manifest(("bios", {"vendor": "Dell"}, "2.0"))
    plan = plan_firmware([comp("bios", "bios", "1.0")], m, {}, None)  # type: ignore[arg-type]
    assert plan.components[0].kind == "unmanaged" and len(plan.not_present) == 1


def test_settings_diff_against_current_and_unknown_names_are_unsupported() -> None:
    m = manifest(settings={"bios": {"Sriov": True, "BootMode": "Uefi", "Nope": 1}, "bmc": {"Ipmi": False}})
    plan = plan_firmware([], m, {"Sriov": False, "BootMode": "Uefi"}, None)  # type: ignore[arg-type]
    kinds = {(s.component, s.name): s.kind for s in plan.settings}
    assert kinds == {
        ("bios", "BootMode"): "already",
        ("bios", "Nope"): "unsupported",
        ("bios", "Sriov"): "set",
        ("bmc", "Ipmi"): "unsupported",
    }


def test_text_settings_compare_with_json_values_and_typed_ones_refuse_a_wrong_type() -> None:
    m = manifest(settings={"bios": {"Turbo": True, "Cores": 8, "Sriov": "enabled", "Typed": "x"}})
    current = {"Turbo": "true", "Cores": "16", "Sriov": "Enabled", "Typed": 3}
    plan = plan_firmware([], m, current, None)  # type: ignore[arg-type]
    kinds = {s.name: s.kind for s in plan.settings}
    assert kinds == {"Turbo": "already", "Cores": "set", "Sriov": "already", "Typed": "unsupported"}
    typed = next(s for s in plan.settings if s.name == "Typed")
    assert typed.reason == "the setting takes a int, not 'x'"
