"""A `Model` for any OpenAI-compatible `/v1/chat/completions` endpoint, over plain aiohttp.

No test runs it (the tests need no network and no model; mypy checks it): it shows where a real model
plugs in. The messages and tool schemas are already in the chat completions format, so it only sends
them and keeps the reply's role, content and tool calls for the next turn.
"""

from __future__ import annotations

import aiohttp

from examples.refund_agent.model import Message
from examples.refund_agent.tools import Tool


class OpenAIChatModel:
    """Ask an OpenAI-compatible server for each turn (OpenAI, or a local server that speaks its API)."""

    def __init__(
        self,
        http: aiohttp.ClientSession,
        *,
        model: str,
        api_key: str,
        base_url: str = "https://api.openai.com/v1",
        timeout: float = 120,
    ) -> None:
        self.http, self.model, self.api_key = http, model, api_key
        self.base_url = base_url.rstrip("/")
        self.timeout = aiohttp.ClientTimeout(total=timeout)

    async def complete(self, messages: list[Message], tools: list[Tool]) -> Message:
        """Send the conversation and the tools; return the assistant's message."""
        async with self.http.post(
            f"{self.base_url}/chat/completions",
            json={"model": self.model, "messages": messages, "tools": tools},
            headers={"Authorization": f"Bearer {self.api_key}"},
            timeout=self.timeout,
        ) as response:
            response.raise_for_status()
            answer = await response.json()
        message = answer["choices"][0]["message"]
        reply: Message = {"role": "assistant", "content": message.get("content")}
        # Sent back next turn as it came; an empty list is left out, as servers refuse `tool_calls: []`.
        if message.get("tool_calls"):
            reply["tool_calls"] = message["tool_calls"]
        return reply
