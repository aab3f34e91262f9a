"""Typed errors: each knows the status and code an agent sees, or the sentence a member sees."""

from __future__ import annotations

from typing import Any


class CouncilError(Exception):
    """A refusal with a precise, user-facing message; never a crash."""

    status = 400
    code = "bad_request"

    def __init__(self, message: str, *, details: Any = None, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details
        if code is not None:
            self.code = code

    def as_json(self) -> dict[str, Any]:
        return {"error": {"code": self.code, "message": self.message, "details": self.details}}


class BadRequest(CouncilError):
    status, code = 400, "bad_request"


class Unauthorized(CouncilError):
    status, code = 401, "unauthorized"


class Forbidden(CouncilError):
    status, code = 403, "forbidden"


class NotFound(CouncilError):
    status, code = 404, "not_found"


class Conflict(CouncilError):
    status, code = 409, "conflict"


class PayloadTooLarge(CouncilError):
    status, code = 413, "payload_too_large"


class UnsupportedMediaType(CouncilError):
    status, code = 415, "unsupported_media_type"


class Invalid(CouncilError):
    status, code = 422, "validation_failed"


class RateLimited(CouncilError):
    status, code = 429, "rate_limited"

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message, details={"retry_after": retry_after})
        self.retry_after = retry_after


class NotAMember(CouncilError):
    status, code = 403, "not_a_member"


class NotAnAdmin(CouncilError):
    status, code = 403, "not_an_admin"


class EscalationClosed(CouncilError):
    status, code = 409, "escalation_closed"


class ConfigError(CouncilError):
    """council.yml (or a CLI argument) is invalid; the message names the place and the problem."""

    status, code = 422, "invalid_config"
