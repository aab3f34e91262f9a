"""A client for agents: escalate to Council, wait for its decision, report what ran.

It needs only aiohttp and pydantic, so an agent installs it without the server's dependencies::

    async with CouncilClient("https://council.example.com", api_key) as council:
        escalation = await council.escalate(kind="approval", title="Refund order 1042",
                                            action={"type": "refund", "amount": "1200", "currency": "USD"})
        escalation = await council.wait_for_decision(escalation.id, timeout=3600)

Results are the API's own models (`bot.api_out`); every refusal is a `CouncilError` carrying the API's
error envelope. A 429 is retried after its `Retry-After`; a 5xx or a lost connection is retried with
backoff only when repeating the request cannot do anything twice (a read, or an escalation carrying its
`Idempotency-Key`).
"""

from bot.client.council import CouncilClient
from bot.client.errors import (
    BadRequest,
    Conflict,
    CouncilError,
    CouncilUnavailable,
    Forbidden,
    Invalid,
    InvalidSignature,
    NotFound,
    PayloadTooLarge,
    RateLimited,
    ServerError,
    Unauthorized,
    UnsupportedMediaType,
)
from bot.client.signature import verify_signature
from bot.client.sync import SyncCouncilClient

__all__ = [
    "BadRequest",
    "Conflict",
    "CouncilClient",
    "CouncilError",
    "CouncilUnavailable",
    "Forbidden",
    "Invalid",
    "InvalidSignature",
    "NotFound",
    "PayloadTooLarge",
    "RateLimited",
    "ServerError",
    "SyncCouncilClient",
    "Unauthorized",
    "UnsupportedMediaType",
    "verify_signature",
]
