"""Worked examples of agents that answer to Council; not part of the installed package."""
