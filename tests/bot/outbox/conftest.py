"""Delivery tests reuse the service fixtures (council, agent, runtime)."""

from tests.bot.services.conftest import council, credentials, rt

__all__ = ["council", "credentials", "rt"]
