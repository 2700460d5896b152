"""The decommission family: decom.disk_erase, decom.qc, decom.firmware_secure.

Each is a task: `validate` parses params (InvalidParams before anything starts), `run` does the work
through the Backend only. The registry collects TASKS.
"""

from __future__ import annotations

from teeth_agent.erase.executor import run_erase
from teeth_agent.erase.params import parse_erase_params
from teeth_agent.firmware.executor import run_firmware
from teeth_agent.firmware.manifest import parse_manifest
from teeth_agent.qc.executor import run_qc
from teeth_agent.qc.spec import parse_qc_params
from teeth_agent.tasks.spec import TaskSpec

TASKS: tuple[TaskSpec, ...] = (
    TaskSpec(method="decom.disk_erase", validate=parse_erase_params, run=run_erase),
    # QC only reads (inventory, sampled disk reads), but it still runs alone: a burn-in beside an erase
    # would measure the erase, not the disk.
    TaskSpec(method="decom.qc", validate=parse_qc_params, run=run_qc),
    TaskSpec(method="decom.firmware_secure", validate=parse_manifest, run=run_firmware),
)
