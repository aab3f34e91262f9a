"""The async client: one agent's calls to the agent API, with retries and typed answers."""

from __future__ import annotations

import asyncio
import email.utils
import json
import math
import random
import re
import uuid
from collections.abc import Mapping
from datetime import UTC, date, datetime
from decimal import Decimal
from types import TracebackType
from typing import Any, Self, TypeVar

import aiohttp
from pydantic import BaseModel, ValidationError

from bot.api_out import AgentOut, ErrorOut, EscalationOut
from bot.client.errors import CouncilError, CouncilUnavailable, error_for, unexpected

API = "/api/v1"
# The server holds a long poll for at most this long; a longer wait is several polls.
MAX_POLL_SECONDS = 60
RETRYABLE_STATUSES = frozenset({500, 502, 503, 504})
ESCALATION_ID = re.compile(r"esc_[0-9a-f]{1,64}")
Model = TypeVar("Model", bound=BaseModel)


class CouncilClient:
    """Council's agent API for one agent, over one aiohttp session (async; use `async with`)."""

    def __init__(
        self,
        url: str,
        api_key: str,
        *,
        timeout: float = 30.0,
        retries: int = 4,
        backoff: float = 0.5,
        max_retry_after: float = 60.0,
        session: aiohttp.ClientSession | None = None,
    ) -> None:
        if not url.startswith(("http://", "https://")):
            raise ValueError(f"url must start with http:// or https://, not {url!r}")
        if not api_key:
            raise ValueError("api_key is empty: give the key `council agent create` printed")
        self.url = url.rstrip("/")
        self.timeout, self.retries, self.backoff = timeout, retries, backoff
        self.max_retry_after = max_retry_after
        self._headers = {"Authorization": f"Bearer {api_key}", "Accept": "application/json"}
        self._session, self._owns_session = session, session is None
        self._closed = False

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        await self.close()

    async def close(self) -> None:
        """Close the session this client opened (one given to it is left to its owner)."""
        self._closed = True
        if self._session is not None and self._owns_session:
            await self._session.close()
        self._session = None if self._owns_session else self._session

    async def escalate(self, *, idempotency_key: str | None = None, **fields: Any) -> EscalationOut:
        """Open an escalation; the fields are the API's body (`kind`, `title`, `action`, …).

        An idempotency key is made when none is given, so a retry after a lost answer returns the
        escalation the first attempt opened instead of opening a second one.
        """
        key = idempotency_key or f"council-client-{uuid.uuid4()}"
        return await self._call(
            "POST",
            "/escalations",
            EscalationOut,
            body=_money(fields),
            headers={"Idempotency-Key": key},
            safe=True,
        )

    async def get(self, escalation_id: str, *, wait: float = 0) -> EscalationOut:
        """Return one of this agent's escalations; `wait` (up to 60 s) long-polls while it is pending."""
        if not 0 <= wait <= MAX_POLL_SECONDS:
            raise ValueError(f"wait must be 0 to {MAX_POLL_SECONDS} seconds, not {wait}")
        query = {"wait": _seconds(wait)} if wait else None
        return await self._call(
            "GET", f"/escalations/{_id(escalation_id)}", EscalationOut, query=query, extra_time=wait
        )

    # The timeout is the wait asked of the council, spread over several long polls, not a deadline on
    # the call: the name is what the issue and the docs promise.
    async def wait_for_decision(self, escalation_id: str, timeout: float) -> EscalationOut:  # noqa: ASYNC109
        """Return the escalation once it is no longer pending, or as it stands after `timeout` seconds.

        Check `.status`: it is still `pending` when the council has not decided in time. An incident or
        a notice is never pending, so it comes back at once.
        """
        loop = asyncio.get_running_loop()
        until = loop.time() + max(0.0, timeout)
        escalation: EscalationOut | None = None
        outage = 0
        while escalation is None or (escalation.status == "pending" and until - loop.time() > 0):
            wait = 0.0 if escalation is None else min(MAX_POLL_SECONDS, until - loop.time())
            try:
                escalation = await self.get(escalation_id, wait=wait)
                outage = 0
            except CouncilUnavailable:
                # Council restarting, or a replica going away, within the wait: try on until the timeout.
                if until - loop.time() <= 0:
                    raise
                outage += 1
                await asyncio.sleep(min(self._pause(min(outage, 5)), max(0.0, until - loop.time())))
        return escalation

    async def amend(self, escalation_id: str, **fields: Any) -> EscalationOut:
        """Change a pending escalation (the API's PATCH body); the council's votes so far are voided."""
        path = f"/escalations/{_id(escalation_id)}"
        return await self._call("PATCH", path, EscalationOut, body=_money(fields))

    async def withdraw(self, escalation_id: str, *, reason: str | None = None) -> EscalationOut:
        """Withdraw a pending escalation the agent no longer needs."""
        body = {} if reason is None else {"reason": reason}
        return await self._call(
            "POST", f"/escalations/{_id(escalation_id)}/withdraw", EscalationOut, body=body
        )

    async def report_execution(self, escalation_id: str, **fields: Any) -> EscalationOut:
        """Report what actually ran (`status`, `amount`, `currency`, `details`, `executed_at`).

        Beyond the approval (more than the approved amount, or after a rejection) it opens an incident
        and pauses the agent; the answer's `execution.within_approval` says which.
        """
        path = f"/escalations/{_id(escalation_id)}/execution"
        return await self._call("POST", path, EscalationOut, body=_money(fields))

    async def me(self) -> AgentOut:
        """Return this agent as Council sees it: its owner, council, limits and whether it is paused."""
        return await self._call("GET", "/agents/me", AgentOut)

    async def _call(
        self,
        method: str,
        path: str,
        model: type[Model],
        *,
        body: Mapping[str, Any] | None = None,
        query: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        safe: bool | None = None,
        extra_time: float = 0,
    ) -> Model:
        repeatable = method == "GET" if safe is None else safe
        data = None if body is None else json.dumps(body, default=_json_value).encode()
        sent = {**self._headers, **(headers or {})}
        if data is not None:
            sent["Content-Type"] = "application/json"
        timeout = aiohttp.ClientTimeout(total=self.timeout + extra_time)
        for attempt in range(self.retries + 1):
            last = attempt == self.retries
            try:
                async with self._http().request(
                    method, self.url + API + path, data=data, params=query, headers=sent, timeout=timeout
                ) as response:
                    status, raw = response.status, await response.read()
                    retry_after = response.headers.get("Retry-After")
            except aiohttp.ClientConnectorError as error:  # nothing was sent: always safe to repeat
                if last:
                    raise CouncilUnavailable(f"cannot reach Council at {self.url}: {error}") from error
                await asyncio.sleep(self._pause(attempt))
                continue
            except (aiohttp.ClientError, TimeoutError) as error:
                if last or not repeatable:
                    raise CouncilUnavailable(f"no answer from Council at {self.url}: {error!r}") from error
                await asyncio.sleep(self._pause(attempt))
                continue
            if status < 300:
                return _parse(model, status, raw)
            if not last and (status == 429 or (repeatable and status in RETRYABLE_STATUSES)):
                await asyncio.sleep(self._pause(attempt, retry_after))
                continue
            raise _refusal(status, raw, retry_after)
        raise AssertionError("unreachable: the last attempt returns or raises")

    def _http(self) -> aiohttp.ClientSession:
        if self._closed:
            raise RuntimeError("this CouncilClient is closed")
        if self._session is None or self._session.closed:
            if not self._owns_session:
                raise RuntimeError("the session given to CouncilClient is closed")
            self._session = aiohttp.ClientSession()
        return self._session

    def _pause(self, attempt: int, retry_after: str | None = None) -> float:
        """Seconds to wait before the next attempt: what Retry-After asks, else backoff with jitter."""
        asked = retry_after_seconds(retry_after)
        if asked is not None:
            return min(asked, self.max_retry_after)
        return self.backoff * 2**attempt * (0.5 + random.random())  # noqa: S311 - jitter, not a secret


def _parse(model: type[Model], status: int, raw: bytes) -> Model:
    try:
        return model.model_validate_json(raw)
    except ValidationError as error:
        raise unexpected(status, raw, f"an answer that is not {model.__name__}: {error}") from error


def _refusal(status: int, raw: bytes, retry_after: str | None) -> CouncilError:
    try:
        envelope = ErrorOut.model_validate_json(raw).error
    except ValidationError:
        return unexpected(status, raw, "an answer without Council's error envelope")
    return error_for(status, envelope, retry_after=retry_after_seconds(retry_after))


def retry_after_seconds(header: str | None) -> float | None:
    """Read Retry-After as seconds: a number of them, or an HTTP date; None when it is neither."""
    if header is None:
        return None
    try:
        seconds = float(header)
    except ValueError:
        try:
            moment = email.utils.parsedate_to_datetime(header)
        except (TypeError, ValueError):
            return None
        if moment.tzinfo is None:
            return None
        seconds = (moment - datetime.now(UTC)).total_seconds()
    return max(0.0, seconds) if math.isfinite(seconds) else None


def _id(escalation_id: str) -> str:
    # Ids are `esc_` and hex; anything else would change the path, so it is refused before sending.
    if not isinstance(escalation_id, str) or not ESCALATION_ID.fullmatch(escalation_id):
        raise ValueError(f"not an escalation id: {escalation_id!r}")
    return escalation_id


def _seconds(wait: float) -> str:
    return str(int(wait)) if float(wait).is_integer() else f"{wait:.3f}"


def _money(fields: dict[str, Any]) -> dict[str, Any]:
    """Send float amounts as the decimals they print as (`0.1` as "0.1"), as the API takes money."""
    sent = dict(fields)
    if isinstance(sent.get("amount"), float):
        sent["amount"] = _decimal_text(sent["amount"])
    action = sent.get("action")
    if isinstance(action, dict) and isinstance(action.get("amount"), float):
        sent["action"] = {**action, "amount": _decimal_text(action["amount"])}
    return sent


def _decimal_text(amount: float) -> str:
    if not math.isfinite(amount):
        raise ValueError(f"an amount must be a finite number, not {amount}")
    return format(Decimal(repr(amount)), "f")


def _json_value(value: object) -> Any:
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json", exclude_none=True)
    raise TypeError(f"cannot send a {type(value).__name__} as JSON")
