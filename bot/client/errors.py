"""What the client raises: each refusal as its own type, carrying the API's error envelope."""

from __future__ import annotations

from typing import Any

from bot.api_out import ErrorBody


class CouncilError(Exception):
    """Council refused a request: the status, the stable `code`, the message and the details."""

    def __init__(
        self, status: int, code: str, message: str, details: Any = None, *, retry_after: float | None = None
    ) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status, self.code, self.message, self.details = status, code, message, details
        # Seconds the answer's Retry-After asked for (429s), after the client's own retries ran out.
        self.retry_after = retry_after


class BadRequest(CouncilError):
    """400: the body is not JSON, or the request is malformed."""


class Unauthorized(CouncilError):
    """401: the API key is missing, wrong, or revoked (`code` says which)."""


class Forbidden(CouncilError):
    """403: the agent may not do this now, such as while it is paused (`code` is `agent_paused`)."""


class NotFound(CouncilError):
    """404: no such escalation among this agent's own."""


class Conflict(CouncilError):
    """409: the escalation has moved on (decided, withdrawn), or an idempotency key was reused."""


class PayloadTooLarge(CouncilError):
    """413: the body is over the API's limit."""


class UnsupportedMediaType(CouncilError):
    """415: the body was not sent as application/json."""


class Invalid(CouncilError):
    """422: a field is wrong; `details` lists each problem as `{field, message}`."""


class RateLimited(CouncilError):
    """429 after every retry: the agent is over its rate limit or holds too many long polls."""


class ServerError(CouncilError):
    """5xx after every retry the request allowed, or an answer that is not Council's."""


class CouncilUnavailable(CouncilError):
    """Council could not be reached, or did not answer, after every retry the request allowed."""

    def __init__(self, message: str) -> None:
        super().__init__(0, "unavailable", message)


class InvalidSignature(ValueError):
    """A callback's signature is missing, wrong or too old: do not act on the callback."""


BY_STATUS: dict[int, type[CouncilError]] = {
    400: BadRequest,
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    409: Conflict,
    413: PayloadTooLarge,
    415: UnsupportedMediaType,
    422: Invalid,
    429: RateLimited,
}


def error_for(status: int, envelope: ErrorBody, *, retry_after: float | None = None) -> CouncilError:
    """Return the typed error for a refusal Council answered with its envelope."""
    kind = BY_STATUS.get(status, ServerError if status >= 500 else CouncilError)
    return kind(status, envelope.code, envelope.message, envelope.details, retry_after=retry_after)


def unexpected(status: int, raw: bytes, why: str) -> CouncilError:
    """Return the error for an answer that is not Council's, such as a proxy's HTML page."""
    text = raw[:200].decode("utf-8", "replace")
    kind = BY_STATUS.get(status, ServerError)
    return kind(status, "unexpected_response", f"HTTP {status}, {why}: {text!r}")
