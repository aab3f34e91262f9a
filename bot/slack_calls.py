"""Count every Slack Web API request, as slack-sdk makes it, for /metrics.

slack-sdk asks a client's retry handlers about every answer and every failure, in order, until one
retries. A handler first in the list that never retries therefore sees each request exactly once,
retries included; and Bolt copies the handlers into the client it makes for each listener, so the
listeners' calls (views.open, views.publish, …) are counted with the outbox's.

The handlers also see the POST of a file's bytes to the one-time upload URL that
files.getUploadURLExternal answers (files.slack.com/upload/v1/<token>). Only a URL under the client's
base URL names a Web API method; every upload is labelled `files.upload`, and anything else `other`,
so the labels stay a known few rather than a new series per upload.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import aiohttp
from slack_sdk.http_retry.async_handler import AsyncRetryHandler
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState

from bot.metrics import Metrics

UPLOAD, OTHER = "files.upload", "other"
WEB_API_METHOD = re.compile(r"[A-Za-z0-9]+(\.[A-Za-z0-9]+)+")  # chat.postMessage, oauth.v2.access


class SlackCallCounter(AsyncRetryHandler):
    """A retry handler that only counts: calls by method, errors by Slack's code, and 429s."""

    def __init__(self, metrics: Metrics, *, base_url: str) -> None:
        super().__init__(max_retry_count=0)
        self.metrics = metrics
        # As AsyncWebClient keeps it: it joins each method to the base URL with a slash.
        self.base_url = base_url if base_url.endswith("/") else base_url + "/"

    def method_of(self, url: str) -> str:
        """Name the Web API method `url` calls; `files.upload` for a file's bytes, else `other`."""
        address = url.split("?", 1)[0].split("#", 1)[0]
        if address.startswith(self.base_url):
            method = address.removeprefix(self.base_url)
            return method if WEB_API_METHOD.fullmatch(method) else OTHER
        return UPLOAD if urlsplit(address).path.startswith("/upload/") else OTHER

    async def can_retry_async(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        method = self.method_of(request.url)
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
