"""The `teeth-agent` program: the command line (`teeth_agent.cli`) with the agent's commands.

It lives in the top layer because it is the one place that joins the runtime to the command families.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from teeth_agent import cli
from teeth_agent.agent import AgentConfig
from teeth_agent.commands.wiring import AgentCommands


def commands_for(config: AgentConfig) -> AgentCommands:
    return AgentCommands(config.plugins)


def main(argv: Sequence[str] | None = None) -> int:
    return cli.main(argv, commands_for)


if __name__ == "__main__":
    sys.exit(main())
