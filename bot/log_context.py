"""Which escalation, agent and council a log line is about, carried in a context variable.

Boundaries bind them (an agent's request, a vote, a decision, a delivery) with `bind`, and every
line logged inside the block carries them. asyncio copies the variable into each task it creates,
so work spawned inside a block carries them too; leaving the block resets it, so the next request
or outbox row starts clean.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from types import MappingProxyType

FIELDS = ("escalation", "agent", "council")
# On an exception that left a block: what was bound where it was raised. The line that reports it is
# logged further out (an error middleware, Bolt's error handler), after the block has reset.
RAISED_IN = "_council_log_context"

_EMPTY: Mapping[str, str] = MappingProxyType({})
_bound: ContextVar[Mapping[str, str]] = ContextVar("council_log_context", default=_EMPTY)


def current() -> Mapping[str, str]:
    """Return what is bound here: some of escalation, agent and council."""
    return _bound.get()


@contextmanager
def bind(
    *, escalation: str | None = None, agent: str | None = None, council: str | None = None
) -> Iterator[None]:
    """Add the given fields (None leaves one as it was) to every line logged inside the block."""
    given = {"escalation": escalation, "agent": agent, "council": council}
    fields = {**_bound.get(), **{name: value for name, value in given.items() if value}}
    token = _bound.set(MappingProxyType(fields))
    try:
        yield
    except Exception as error:
        if not hasattr(error, RAISED_IN):  # the innermost block knows the most
            setattr(error, RAISED_IN, fields)
        raise
    finally:
        _bound.reset(token)


class LogContext(logging.Filter):
    """Copy the bound fields onto each record (`record.escalation`, `.agent`, `.council`)."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        fields = {**_bound.get(), **getattr(error, RAISED_IN, {})}
        for name in FIELDS:
            if getattr(record, name, None) is None and name in fields:
                setattr(record, name, fields[name])
        return True


def of(record: logging.LogRecord) -> dict[str, str]:
    """Return the fields a record carries, in their usual order."""
    return {name: str(value) for name in FIELDS if (value := getattr(record, name, None)) is not None}
