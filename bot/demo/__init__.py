"""`council demo`: the whole loop in one process, on a fresh database, with no Slack credentials."""

from bot.demo.script import run_demo

__all__ = ["run_demo"]
