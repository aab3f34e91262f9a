"""The blocking client, for agents that are not async: the async client on a loop of its own."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from types import TracebackType
from typing import Any, Self, TypeVar

from bot.api_out import AgentOut, EscalationOut
from bot.client.council import CouncilClient

Result = TypeVar("Result")


class SyncCouncilClient:
    """The same calls as CouncilClient, blocking; use it as a context manager or call `close()`.

    Its event loop runs in a thread of its own, so it works the same from plain scripts and from inside
    programs that already run a loop (a notebook, a web framework's worker).
    """

    def __init__(self, url: str, api_key: str, **options: Any) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="council-client", daemon=True)
        self._thread.start()
        self._client = CouncilClient(url, api_key, **options)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        """Close the session and stop the client's loop."""
        if self._loop.is_closed():
            return
        self._run(self._client.close())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join()
        self._loop.close()

    def escalate(self, *, idempotency_key: str | None = None, **fields: Any) -> EscalationOut:
        """Open an escalation (see CouncilClient.escalate)."""
        return self._run(self._client.escalate(idempotency_key=idempotency_key, **fields))

    def get(self, escalation_id: str, *, wait: float = 0) -> EscalationOut:
        """Return one of this agent's escalations (see CouncilClient.get)."""
        return self._run(self._client.get(escalation_id, wait=wait))

    def wait_for_decision(self, escalation_id: str, timeout: float) -> EscalationOut:
        """Wait for the council's decision (see CouncilClient.wait_for_decision)."""
        return self._run(self._client.wait_for_decision(escalation_id, timeout))

    def amend(self, escalation_id: str, **fields: Any) -> EscalationOut:
        """Change a pending escalation (see CouncilClient.amend)."""
        return self._run(self._client.amend(escalation_id, **fields))

    def withdraw(self, escalation_id: str, *, reason: str | None = None) -> EscalationOut:
        """Withdraw a pending escalation (see CouncilClient.withdraw)."""
        return self._run(self._client.withdraw(escalation_id, reason=reason))

    def report_execution(self, escalation_id: str, **fields: Any) -> EscalationOut:
        """Report what actually ran (see CouncilClient.report_execution)."""
        return self._run(self._client.report_execution(escalation_id, **fields))

    def me(self) -> AgentOut:
        """Return this agent as Council sees it (see CouncilClient.me)."""
        return self._run(self._client.me())

    def _run(self, call: Coroutine[Any, Any, Result]) -> Result:
        if self._loop.is_closed():
            call.close()
            raise RuntimeError("this SyncCouncilClient is closed")
        return asyncio.run_coroutine_threadsafe(call, self._loop).result()
