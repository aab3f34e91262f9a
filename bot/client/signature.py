"""Checking a callback's signature on the agent's side, by either scheme Council signs with."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
import time
from collections.abc import Mapping, Sequence
from typing import Any

from bot.client.errors import InvalidSignature

# A Unix time in seconds, in ASCII digits: str.isdigit() would take "²" and int() refuses 4,300 digits.
UNIX_TIME = re.compile(r"[0-9]{1,12}")


def verify_signature(
    headers: Mapping[str, str],
    body: bytes,
    secret: str | Sequence[str],
    tolerance: int = 300,
    *,
    now: float | None = None,
) -> Any:
    """Check a callback's signature and return its JSON body; raise InvalidSignature if it fails.

    `Council-Signature` (`t=UNIX,v1=HEX`) is checked when present, else the Standard Webhooks headers
    (`webhook-id`, `webhook-timestamp`, `webhook-signature`). Give the raw body as received, and the
    signing secret `council agent create` printed; while a new secret is being rolled out, give both.
    A timestamp more than `tolerance` seconds away from now is refused, so a captured callback cannot
    be replayed later.
    """
    if not isinstance(body, bytes | bytearray):
        raise TypeError("give the raw body as bytes, as it was received (not decoded text)")
    body = bytes(body)
    secrets = [secret] if isinstance(secret, str) else list(secret)
    if not secrets or not all(secrets):
        raise ValueError("give the agent's signing secret (whsec_…)")
    named = {name.lower(): value for name, value in headers.items()}
    if "council-signature" in named:
        timestamp, ok = _council(named["council-signature"], body, secrets)
    elif "webhook-signature" in named:
        timestamp, ok = _standard(named, body, secrets)
    else:
        raise InvalidSignature("no Council-Signature or webhook-signature header")
    moment = time.time() if now is None else now
    if abs(moment - timestamp) > tolerance:
        raise InvalidSignature(f"signed {int(moment - timestamp)} s from now; the tolerance is {tolerance} s")
    if not ok:
        raise InvalidSignature("no signature matches the secret")
    try:
        return json.loads(body)
    except ValueError as error:  # signed by the secret, yet not JSON: not a callback of Council's
        raise InvalidSignature(f"the signed body is not JSON: {error}") from None


def _council(header: str, body: bytes, secrets: list[str]) -> tuple[int, bool]:
    pairs = [part.strip().partition("=") for part in header.split(",")]
    stamps = [value for key, _, value in pairs if key == "t"]
    given = [value for key, _, value in pairs if key == "v1"]
    if len(stamps) != 1 or not UNIX_TIME.fullmatch(stamps[0]) or not given or not all(given):
        raise InvalidSignature("Council-Signature is not t=UNIX,v1=HEX")
    signed = stamps[0].encode() + b"." + body
    expected = [hmac.new(s.encode(), signed, hashlib.sha256).hexdigest() for s in secrets]
    return int(stamps[0]), _any_match(expected, given)


def _standard(headers: dict[str, str], body: bytes, secrets: list[str]) -> tuple[int, bool]:
    event_id, stamp = headers.get("webhook-id", ""), headers.get("webhook-timestamp", "")
    if not event_id or not UNIX_TIME.fullmatch(stamp):
        raise InvalidSignature("webhook-signature without webhook-id and a numeric webhook-timestamp")
    signed = f"{event_id}.{stamp}.".encode() + body
    expected = [
        base64.b64encode(hmac.new(standard_key(s), signed, hashlib.sha256).digest()).decode() for s in secrets
    ]
    given = [
        sig
        for version, _, sig in (p.partition(",") for p in headers["webhook-signature"].split())
        if version == "v1"
    ]
    return int(stamp), _any_match(expected, given)


def standard_key(secret: str) -> bytes:
    """Return the HMAC key Standard Webhooks reads from a secret: the base64 after `whsec_`, decoded.

    Council's secrets are `whsec_` and 64 hex digits: hex digits are base64 characters and 64 is a
    multiple of 4, so every library, strict decoders included, reads the same 48-byte key from them.
    """
    try:
        return base64.b64decode(secret.removeprefix("whsec_"), validate=True)
    except binascii.Error as error:
        raise ValueError(
            "the signing secret is not one Council printed (whsec_ and 64 hex digits)"
        ) from error


def _any_match(expected: list[str], given: list[str]) -> bool:
    # Every pair is compared, so the time taken does not say which one matched.
    results = [hmac.compare_digest(e.encode(), g.encode()) for e in expected for g in given]
    return any(results)
