"""verify_signature on real callbacks from the running app, by both schemes Council signs with."""

from __future__ import annotations

import json
import time

import pytest

from bot.client import CouncilClient, InvalidSignature, verify_signature
from bot.slack import ids
from tests.harness import REFUND, Harness


async def a_callback(council: Harness) -> tuple[dict[str, str], bytes]:
    """Escalate with a callback URL, have the council approve, and return the delivery it sent."""
    async with CouncilClient(council.url, council.creds.api_key) as agent:
        escalation = await agent.escalate(**REFUND, callback_url=council.sink.url)
    await council.click("U0TECH001", ids.APPROVE, escalation.id)
    await council.click("U0FIN0001", ids.APPROVE, escalation.id)
    await council.fake.wait_for(lambda: council.sink.received)
    return council.sink.received[0]


async def test_a_real_callback_verifies_by_either_scheme(council: Harness) -> None:
    headers, body = await a_callback(council)
    secret = council.creds.signing_secret
    council_only = {k: v for k, v in headers.items() if not k.lower().startswith("webhook-")}
    standard_only = {k: v for k, v in headers.items() if k.lower() != "council-signature"}
    assert "Council-Signature" in council_only and "webhook-signature" in {k.lower() for k in standard_only}
    for given in (council_only, standard_only):
        event = verify_signature(given, body, secret)
        assert event == json.loads(body) and event["escalation"]["status"] == "approved"
    # Header names are matched whatever their case, as HTTP says they are.
    assert verify_signature({k.upper(): v for k, v in standard_only.items()}, body, secret)


async def test_a_tampered_wrongly_keyed_or_stale_callback_is_refused(council: Harness) -> None:
    headers, body = await a_callback(council)
    secret = council.creds.signing_secret
    council_only = {k: v for k, v in headers.items() if not k.lower().startswith("webhook-")}
    standard_only = {k: v for k, v in headers.items() if k.lower() != "council-signature"}
    for given in (council_only, standard_only):
        with pytest.raises(InvalidSignature, match="no signature matches"):
            verify_signature(given, body.replace(b"approved", b"rejected"), secret)
        with pytest.raises(InvalidSignature, match="no signature matches"):
            verify_signature(given, body, "whsec_" + "0" * 64)
        with pytest.raises(InvalidSignature, match="tolerance is 300 s"):
            verify_signature(given, body, secret, now=time.time() + 301)
        # A receiver rolling a new secret out gives both: the right one among them is enough.
        assert verify_signature(given, body, ["whsec_" + "0" * 64, secret])
    with pytest.raises(InvalidSignature, match="no Council-Signature or webhook-signature"):
        verify_signature({"Content-Type": "application/json"}, body, secret)
    with pytest.raises(InvalidSignature, match="not t=UNIX,v1=HEX"):
        verify_signature({"Council-Signature": "v1=abc"}, body, secret)
    with pytest.raises(ValueError, match="signing secret"):
        verify_signature(council_only, body, "")


@pytest.mark.parametrize(
    "headers",
    [
        {"Council-Signature": "t=²,v1=ab"},
        {"Council-Signature": "t=" + "9" * 5000 + ",v1=ab"},
        {"Council-Signature": "t=1,t=2,v1=ab"},
        {"Council-Signature": f"t={int(time.time())},v1="},
        {"Council-Signature": f"t={int(time.time())},junk"},
        {"webhook-signature": "v1,abc", "webhook-id": "evt_1", "webhook-timestamp": "١٢٣"},
        {"webhook-signature": "v1,abc", "webhook-timestamp": str(int(time.time()))},
        {"webhook-signature": "v1,abc", "webhook-id": "evt_1", "webhook-timestamp": "9" * 5000},
    ],
)
def test_a_malformed_header_is_an_invalid_signature_never_another_error(headers: dict[str, str]) -> None:
    with pytest.raises(InvalidSignature):
        verify_signature(headers, b"{}", "whsec_" + "0" * 64)


def test_a_body_given_as_text_is_refused_plainly() -> None:
    with pytest.raises(TypeError, match="raw body as bytes"):
        verify_signature({"Council-Signature": "t=1,v1=ab"}, "{}", "whsec_" + "0" * 64)  # type: ignore[arg-type]
