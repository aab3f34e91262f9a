"""Where refunds go: a payment provider behind a protocol, and an in-memory stand-in for it."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol


@dataclass(frozen=True)
class Refund:
    """One refund the agent issued, and the council approval it acted on (None within its limit)."""

    order_id: str
    amount: Decimal
    currency: str
    destination: str
    escalation_id: str | None = None


class Payments(Protocol):
    async def refund(self, refund: Refund) -> str:
        """Move the money back to the customer; return the provider's reference for it."""
        ...


class InMemoryPayments:
    """A payment provider that keeps each refund in a list: for tests and dry runs."""

    def __init__(self) -> None:
        self.refunds: list[Refund] = []

    async def refund(self, refund: Refund) -> str:
        """Record the refund; return a made-up reference."""
        self.refunds.append(refund)
        return f"rf_{len(self.refunds):04d}"
