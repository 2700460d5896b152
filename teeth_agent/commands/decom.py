"""The decommission family: decom.disk_erase, decom.qc, decom.firmware_secure.

Each is a task: `validate` parses params (InvalidParams before anything starts), `run` does the work
through the Backend only. The registry collects TASKS.
"""

from __future__ import annotations

from teeth_agent.commands.spec import TaskSpec
from teeth_agent.erase.executor import run_erase
from teeth_agent.erase.params import parse_erase_params

TASKS: tuple[TaskSpec, ...] = (
    TaskSpec(method="decom.disk_erase", validate=parse_erase_params, run=run_erase),
)
