"""What the agent needs of a language model, and a scripted one that needs no network.

Messages are the OpenAI chat format as plain dicts (`role`, `content`, `tool_calls`, `tool_call_id`),
so an adapter for a real model passes them through unchanged.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Generator
from typing import Any, Protocol

from examples.refund_agent.tools import Tool

Message = dict[str, Any]
# A script is a generator: it yields the assistant's turns and is sent, after each tool call, that
# tool's result (the parsed JSON the agent answered), so a later turn can depend on what came back.
Script = Generator[Message, dict[str, Any], None]


class Model(Protocol):
    async def complete(self, messages: list[Message], tools: list[Tool]) -> Message:
        """Answer the conversation so far with one assistant message: text, or tool calls."""
        ...


class ScriptExhausted(Exception):
    """The agent asked for another turn than the script has."""


_call_ids = itertools.count(1)


def call(name: str, **arguments: Any) -> Message:
    """Return an assistant turn that calls one tool, as a model would write it."""
    return {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {
                "id": f"call_{next(_call_ids)}",
                "type": "function",
                "function": {"name": name, "arguments": json.dumps(arguments)},
            }
        ],
    }


def say(text: str) -> Message:
    """Return an assistant turn that answers in words, which ends the agent's loop."""
    return {"role": "assistant", "content": text}


class ScriptedModel:
    """A model whose turns are a script: the test's model, and a dry run's."""

    def __init__(self, script: Script) -> None:
        self._script = script
        self._started = False

    async def complete(self, messages: list[Message], tools: list[Tool]) -> Message:
        """Play the script's next turn, sending it the result of the tool it called last."""
        try:
            if not self._started:
                self._started = True
                turn = next(self._script)
            else:
                turn = self._script.send(_last_result(messages))
        except StopIteration:
            raise ScriptExhausted("the script ended before the agent's loop did") from None
        _check_offered(turn, tools)
        return turn


def _last_result(messages: list[Message]) -> dict[str, Any]:
    last = messages[-1]
    if last.get("role") != "tool":
        raise ScriptExhausted("the script's last turn answered in words; there is no result to send")
    result: dict[str, Any] = json.loads(last["content"])
    return result


def _check_offered(turn: Message, tools: list[Tool]) -> None:
    """Refuse a scripted call to a tool the agent did not offer: a real model could not make it."""
    offered = {tool["function"]["name"] for tool in tools}
    for tool_call in turn.get("tool_calls", []):
        if tool_call["function"]["name"] not in offered:
            raise ValueError(f"the script calls {tool_call['function']['name']!r}, which is not offered")
