"""Read an agent's request body: size, content type, JSON and schema, each with its own error."""

from __future__ import annotations

import json
from typing import Any, TypeVar

from aiohttp import web
from pydantic import BaseModel, ValidationError

from bot.council_file import describe_errors
from bot.errors import BadRequest, Invalid, PayloadTooLarge, UnsupportedMediaType
from bot.schemas import MAX_BODY_BYTES

Model = TypeVar("Model", bound=BaseModel)


async def read_json(request: web.Request) -> Any:
    """Return the parsed JSON body, refusing what is too large, not JSON, or not UTF-8."""
    if request.content_type != "application/json":
        raise UnsupportedMediaType(
            f"send the body as application/json (got {request.content_type or 'no content type'})"
        )
    if request.content_length is not None and request.content_length > MAX_BODY_BYTES:
        raise PayloadTooLarge(f"body is {request.content_length} bytes; the limit is {MAX_BODY_BYTES}")
    raw = bytearray()
    while chunk := await request.content.read(16384):
        raw.extend(chunk)
        if len(raw) > MAX_BODY_BYTES:
            raise PayloadTooLarge(f"body is over the limit of {MAX_BODY_BYTES} bytes")
    try:
        return json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise BadRequest("body is not UTF-8", code="invalid_json") from None
    except json.JSONDecodeError as error:
        raise BadRequest(
            f"body is not valid JSON: {error.msg} at line {error.lineno} column {error.colno}",
            code="invalid_json",
        ) from None
    except RecursionError:
        raise BadRequest("body is nested too deeply", code="invalid_json") from None


def validate(model: type[Model], data: Any) -> Model:
    """Validate JSON against a schema; a 422 names every field that is wrong."""
    if not isinstance(data, dict):
        raise Invalid("body must be a JSON object", details=[{"field": "", "message": "not an object"}])
    try:
        return model.model_validate(data)
    except ValidationError as error:
        lines = describe_errors(error)
        details = [
            {"field": line.split(": ", 1)[0] if ": " in line else "", "message": line.split(": ", 1)[-1]}
            for line in lines
        ]
        raise Invalid("; ".join(lines), details=details) from None
