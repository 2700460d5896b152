"""The agent's command layer, assembled: core commands, the flow families, plugins, one registry.

`AgentCommands` is the `CommandSet` the runtime (`teeth_agent.agent`) is handed; whoever starts an agent
(the `teeth-agent` entry point, the simulator's fleet, tests) makes one.
"""

from __future__ import annotations

from collections.abc import Mapping

from teeth_agent.commands.core import core_commands
from teeth_agent.commands.registry import FLOW_MODULES, Registry, error_payload, load_specs
from teeth_agent.tasks.spec import AfterAck, AgentIdentity, JsonObject, StartTask, StatusSources, TaskSpec


class AgentCommands:
    def __init__(self, plugins: tuple[str, ...] = (), *, extra_tasks: tuple[TaskSpec, ...] = ()) -> None:
        self._flows = load_specs(FLOW_MODULES)
        self._plugins = load_specs(plugins, required=True)
        self._extra_tasks = extra_tasks

    @property
    def after_ack(self) -> Mapping[str, AfterAck]:
        return {**self._flows.after_ack, **self._plugins.after_ack}

    def to_error(self, exc: BaseException) -> JsonObject:
        return error_payload(exc)

    def build(self, identity: AgentIdentity, sources: StatusSources, start_task: StartTask) -> Registry:
        tasks = (*self._flows.tasks, *self._plugins.tasks, *self._extra_tasks)
        commands = (*core_commands(identity, sources), *self._flows.commands, *self._plugins.commands)
        return Registry(commands, tasks, start_task)
