"""Every API answer that is not a success is `{"error": {"code", "message", "details"}}`."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from aiohttp import web

from bot.api_out import ErrorBody, ErrorOut
from bot.errors import CouncilError, RateLimited

log = logging.getLogger(__name__)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

HTTP_CODES = {404: "not_found", 405: "method_not_allowed", 413: "payload_too_large"}
# Headers of aiohttp's own refusals that a client needs: a 405 says which methods the path takes.
KEPT_HEADERS = ("Allow",)


def error_response(status: int, code: str, message: str, details: object = None) -> web.Response:
    """Answer with the error envelope."""
    body = ErrorOut(error=ErrorBody.model_validate({"code": code, "message": message, "details": details}))
    return web.json_response(body.model_dump(mode="json"), status=status)


@web.middleware
async def json_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Turn typed refusals and routing errors into JSON; an unexpected crash is logged, not shown."""
    try:
        return await handler(request)
    except CouncilError as error:
        response = error_response(error.status, error.code, error.message, error.details)
        if isinstance(error, RateLimited):
            response.headers["Retry-After"] = str(error.retry_after)
        return response
    except web.HTTPException as error:
        if error.status < 400:
            raise
        response = error_response(error.status, HTTP_CODES.get(error.status, "http_error"), error.reason)
        for name in KEPT_HEADERS:
            if name in error.headers:
                response.headers[name] = error.headers[name]
        return response
    except Exception:
        log.exception("unhandled error on %s %s", request.method, request.path)
        return error_response(
            500, "internal_error", "Council failed to handle this request; it has been logged"
        )
