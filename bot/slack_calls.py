"""Count every Slack Web API request, as slack-sdk makes it, for /metrics.

slack-sdk asks a client's retry handlers about every answer and every failure, in order, until one
retries. A handler first in the list that never retries therefore sees each request exactly once,
retries included; and Bolt copies the handlers into the client it makes for each listener, so the
listeners' calls (views.open, views.publish, …) are counted with the outbox's.
"""

from __future__ import annotations

import aiohttp
from slack_sdk.http_retry.async_handler import AsyncRetryHandler
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState

from bot.metrics import Metrics


class SlackCallCounter(AsyncRetryHandler):
    """A retry handler that only counts: calls by method, errors by Slack's code, and 429s."""

    def __init__(self, metrics: Metrics) -> None:
        super().__init__(max_retry_count=0)
        self.metrics = metrics

    async def can_retry_async(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        method = request.url.split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1]
        self.metrics.slack_calls.labels(method=method).inc()
        if response is not None and response.status_code == 429:
            self.metrics.slack_ratelimited.labels(method=method).inc()
            return False
        failure = _failure(response, error)
        if failure is not None:
            self.metrics.slack_errors.labels(method=method, error=failure).inc()
        return False


def _failure(response: HttpResponse | None, error: Exception | None) -> str | None:
    """Name what went wrong: Slack's error code, the HTTP status, or why no answer came."""
    if response is None:
        if isinstance(error, TimeoutError):
            return "timeout"
        if isinstance(error, aiohttp.ClientError | OSError):
            return "connection"
        return "invalid_response"  # slack-sdk could not read the answer it got
    body = response.body or {}
    if body.get("ok") is False:
        return str(body.get("error") or "unknown")
    if response.status_code >= 400:
        return f"http_{response.status_code}"
    return None
