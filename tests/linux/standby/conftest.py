"""Fixtures of the standby loop-device tests (defined in standby_loop_support, shared by every module)."""

from standby_loop_support import attach_loop

__all__ = ["attach_loop"]
