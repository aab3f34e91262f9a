"""Typed keys for what the aiohttp app carries (aiohttp's AppKey)."""

from aiohttp import web

from bot.runtime import Runtime

RUNTIME = web.AppKey("runtime", Runtime)
