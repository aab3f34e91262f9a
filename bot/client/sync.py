"""The blocking client, for agents that are not async: the async client on a loop of its own."""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
import weakref
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
        self._client = CouncilClient(url, api_key, **options)  # a bad argument stops here, before a thread
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="council-client", daemon=True)
        self._lock = threading.Lock()
        self._closed = False
        self._thread.start()
        # A client dropped without close() still stops its thread and session, when collected or at exit.
        self._stop = weakref.finalize(self, _stop, self._loop, self._thread, self._client)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        """Close the session and stop the client's loop; a call still waiting raises RuntimeError."""
        with self._lock:
            self._closed = True
        self._stop()

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
        with self._lock:  # nothing is handed to the loop once close() has begun
            if self._closed:
                call.close()
                raise RuntimeError("this SyncCouncilClient is closed")
            future = asyncio.run_coroutine_threadsafe(call, self._loop)
        try:
            return future.result()
        except concurrent.futures.CancelledError:
            raise RuntimeError("this SyncCouncilClient was closed while the call waited") from None


def _stop(loop: asyncio.AbstractEventLoop, thread: threading.Thread, client: CouncilClient) -> None:
    """Cancel the calls in flight, close the session, stop the loop and its thread (once)."""
    if threading.current_thread() is thread:  # collected on its own loop: all that can be done is stop
        loop.call_soon(loop.stop)
        return
    asyncio.run_coroutine_threadsafe(_wind_down(client), loop).result(timeout=30)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(timeout=30)
    loop.close()


async def _wind_down(client: CouncilClient) -> None:
    this = asyncio.current_task()
    calls = [task for task in asyncio.all_tasks() if task is not this]
    for task in calls:
        task.cancel()
    await asyncio.gather(*calls, return_exceptions=True)
    await client.close()
