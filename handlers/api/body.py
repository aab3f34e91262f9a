"""Read an agent's request body: size, content type, JSON and schema, each with its own error."""

from __future__ import annotations

import json
import math
from typing import Any, TypeVar

from aiohttp import web
from pydantic import BaseModel, ValidationError

from bot.council_file import describe_errors
from bot.errors import BadRequest, Invalid, PayloadTooLarge, UnsupportedMediaType
from bot.schemas import MAX_BODY_BYTES, read_float

# Deep enough for any real context; shallow enough that nothing downstream recurses out of stack.
MAX_DEPTH = 32

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
        data = json.loads(raw.decode("utf-8"), parse_constant=_no_constant, parse_float=read_float)
    except UnicodeDecodeError:
        raise BadRequest("body is not UTF-8", code="invalid_json") from None
    except json.JSONDecodeError as error:
        raise BadRequest(
            f"body is not valid JSON: {error.msg} at line {error.lineno} column {error.colno}",
            code="invalid_json",
        ) from None
    except RecursionError:
        raise BadRequest("body is nested too deeply", code="invalid_json") from None
    except ValueError as error:  # NaN or Infinity, which JSON does not have.
        raise BadRequest(f"body is not valid JSON: {error}", code="invalid_json") from None
    _check_values(data)
    return data


def _no_constant(name: str) -> None:
    raise ValueError(f"{name} is not a JSON number")


def _check_values(value: Any, where: str = "", depth: int = 0) -> None:
    """Refuse what a database or Slack cannot hold: deep nesting, NUL, lone surrogates, infinite numbers."""
    if depth > MAX_DEPTH:
        raise Invalid(
            f"{where or 'body'} is nested more than {MAX_DEPTH} levels deep",
            details=[{"field": where, "message": "nested too deeply"}],
        )
    if isinstance(value, dict):
        for key, item in value.items():
            _check_text(key, where or "body")
            _check_values(item, f"{where}.{key}" if where else key, depth + 1)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _check_values(item, f"{where}[{index}]", depth + 1)
    elif isinstance(value, str):
        _check_text(value, where)
    elif isinstance(value, float) and not math.isfinite(value):
        raise Invalid(
            f"{where}: number is too large", details=[{"field": where, "message": "number too large"}]
        )


def _check_text(text: str, where: str) -> None:
    if "\x00" in text:
        raise Invalid(
            f"{where}: text may not contain NUL characters", details=[{"field": where, "message": "NUL"}]
        )
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise Invalid(
            f"{where}: text is not valid Unicode (a lone surrogate)",
            details=[{"field": where, "message": "invalid unicode"}],
        ) from None


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
