"""Logging set-up from LOG_LEVEL and LOG_FORMAT (text or one JSON object per line)."""

from __future__ import annotations

import json
import logging
import re
from datetime import UTC, datetime

from bot import log_context
from bot.settings import Settings

# Libraries whose INFO lines narrate their own workings (a scheduler adding a job, an ORM closing a
# connection Council is about to reopen, a retry handler being looked up): shown at DEBUG only. Council
# itself logs what an admin needs, such as one line per outbox retry.
CHATTY = ("tortoise", "apscheduler", "slack_sdk", "aiosqlite")


# An agent's API key and signing secret (bot.keys), wherever a line carries them: at DEBUG, slack_sdk
# logs every request body, such as the private answer that shows an admin a new key once.
SECRET = re.compile(r"\b(ck_|whsec_)[A-Za-z0-9_-]{16,}")


class Redact(logging.Filter):
    """Replace keys and signing secrets in a record with their kind and `[redacted]`."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a malformed record is the handler's to report, not ours
            return True
        if SECRET.search(message):
            record.msg, record.args = SECRET.sub(r"\1[redacted]", message), None
        return True


def redact(text: str) -> str:
    """Return `text` with each key and signing secret replaced by its kind and `[redacted]`."""
    return SECRET.sub(r"\1[redacted]", text)


# The formatters redact what they write as well: `Redact` sees the message, but an exception's text and
# traceback are only written out here, and they carry whatever the code that raised put in them.
class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": redact(record.getMessage()),
            **log_context.of(record),
        }
        if record.exc_info:
            # Before encoding: in JSON a newline is `\n`, and `\nck_…` has no word boundary to match.
            entry["exception"] = redact(self.formatException(record.exc_info))
        return json.dumps(entry)


class TextFormatter(logging.Formatter):
    """One line each: time, level, logger, message, then the escalation, agent and council it is about."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def formatMessage(self, record: logging.LogRecord) -> str:
        about = " ".join(f"{name}={value}" for name, value in log_context.of(record).items())
        line = super().formatMessage(record)
        return f"{line} {about}" if about else line

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


def configure(settings: Settings) -> None:
    """Send logs to stderr in the configured format and level."""
    configure_stream(settings.log_level, settings.log_format)


def configure_stream(level: str, log_format: str, *, chatty: tuple[str, ...] = CHATTY) -> None:
    """Send logs to stderr at `level`, as text or JSON, with secrets redacted and the context added."""
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter() if log_format == "json" else TextFormatter())
    handler.addFilter(Redact())
    handler.addFilter(log_context.LogContext())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    level = level.upper()
    root.setLevel(level)
    for name in chatty:
        logging.getLogger(name).setLevel(level if level == "DEBUG" else "WARNING")
