"""Configuration from the environment and `.env` (the variables DESIGN.md names)."""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Literal

from dotenv import dotenv_values
from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Everything Council reads from its environment; nothing else reads os.environ."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore", populate_by_name=True)

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value

    slack_bot_token: SecretStr | None = None
    slack_signing_secret: SecretStr | None = None
    slack_app_token: SecretStr | None = None
    slack_api_url: str = "https://slack.com/api/"
    database_url: str = "sqlite://council.db"
    host: str = "0.0.0.0"  # noqa: S104 - a server is meant to listen on every interface
    port: int = Field(default=3000, ge=0, le=65535)
    council_config: Path | None = None
    council_allow_private_callbacks: bool = False
    council_allow_empty: bool = False
    council_secret_key: SecretStr | None = None
    council_secret_key_file: Path = Path("council.key")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = "INFO"
    log_format: Literal["text", "json"] = "text"
    # Seconds the worker waits before re-rendering a live tally, so a burst of votes is one update.
    council_tally_debounce: float = Field(default=0.5, ge=0)
    # Seconds start-up waits for PostgreSQL to answer before stopping with one line.
    council_database_timeout: float = Field(default=10.0, gt=0)
    # Seconds between outbox polls when nothing wakes the worker (other replicas' rows).
    council_outbox_poll: float = Field(default=1.0, gt=0)
    # Long polls (`GET …?wait=`) this process holds open at once: per agent, and for all agents.
    council_long_polls_per_agent: int = Field(default=50, ge=1)
    council_long_polls_total: int = Field(default=1000, ge=1)

    def config_path(self) -> Path | None:
        """Return the council.yml to apply at start: COUNCIL_CONFIG, else ./council.yml if present."""
        if self.council_config is not None:
            return self.council_config
        default = Path("council.yml")
        return default if default.exists() else None


class StartupError(Exception):
    """Council cannot start: one line for the admin, exit status 2, nothing done yet."""


class MissingSetting(StartupError):
    """A variable needed for the chosen mode is not set."""

    def __init__(self, variable: str, why: str) -> None:
        super().__init__(self._line(variable, why))
        self.variable = variable

    @staticmethod
    def _line(variable: str, why: str) -> str:
        return f"{variable} is not set: {why}"


class InvalidSetting(MissingSetting):
    """A variable is set to something Council cannot use.

    A MissingSetting, since a usable value is still missing: whatever stops on one stops on the other.
    """

    @staticmethod
    def _line(variable: str, why: str) -> str:
        return f"{variable} {why}"


def require_slack(settings: Settings, *, socket_mode: bool) -> None:
    """Stop with one clear line when Slack credentials for serving are missing."""
    if settings.slack_bot_token is None:
        raise MissingSetting("SLACK_BOT_TOKEN", "the bot token (xoxb-…) from your Slack app")
    if settings.slack_signing_secret is None and not socket_mode:
        raise MissingSetting("SLACK_SIGNING_SECRET", "HTTP mode verifies Slack's request signatures")
    if socket_mode and settings.slack_app_token is None:
        raise MissingSetting("SLACK_APP_TOKEN", "Socket Mode needs the app-level token (xapp-…)")
    _require_kind("SLACK_BOT_TOKEN", settings.slack_bot_token, "xoxb-", "the Bot User OAuth Token")
    if socket_mode:
        _require_kind("SLACK_APP_TOKEN", settings.slack_app_token, "xapp-", "an App-Level Token")


def _require_kind(variable: str, token: SecretStr | None, prefix: str, what: str) -> None:
    value = token.get_secret_value() if token is not None else ""
    if not value.startswith(prefix):
        kind = value.split("-", 1)[0] + "-" if "-" in value else "a value without a Slack prefix"
        raise InvalidSetting(
            variable, f"is not {what}: it starts with {kind!s}, and should start with {prefix}"
        )


def env_file_typos(path: Path = Path(".env")) -> list[str]:
    """Name each variable in `.env` that Council does not read but that looks like one it does.

    `.env` may hold other programs' variables too, so only near-misses of Council's names are named.
    """
    if not path.is_file():
        return []
    known = [name.upper() for name in Settings.model_fields]
    found = []
    for name in dotenv_values(path):
        upper = name.upper()
        if upper in known:
            continue
        match = difflib.get_close_matches(upper, known, n=1, cutoff=0.8)
        if match:
            found.append(f"{path}: {name} is not a Council variable; did you mean {match[0]}?")
    return found
