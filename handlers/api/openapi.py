"""GET /api/v1/openapi.json."""

from __future__ import annotations

from aiohttp import web

from bot.openapi import document


async def document_route(request: web.Request) -> web.Response:
    return web.json_response(document())
