"""A refund agent run by a language model's tool calls, that asks Council above its own limit.

The walk-through is in docs/agents.md, "A worked example: an LLM refund agent".
"""

from examples.refund_agent.agent import Approval, RefundAgent, Run, TooManyTurns
from examples.refund_agent.model import Message, Model, ScriptedModel, call, say
from examples.refund_agent.payments import InMemoryPayments, Payments, Refund
from examples.refund_agent.script import refund_script
from examples.refund_agent.tools import TOOLS

__all__ = [
    "TOOLS",
    "Approval",
    "InMemoryPayments",
    "Message",
    "Model",
    "Payments",
    "Refund",
    "RefundAgent",
    "Run",
    "ScriptedModel",
    "TooManyTurns",
    "call",
    "refund_script",
    "say",
]
