"""A fake Slack Web API over real HTTP, Block Kit limits, and Slack-signed request bodies.

async with FakeSlack() as fake:
    client = AsyncWebClient(base_url=fake.api_url, token=fake.token)
    ...  # run the app against it
    [message] = await fake.wait_for(lambda: fake.messages("C0COUNCIL"))
    assert "Approve" in fake.rendered_text(message)
"""

from tests.fakeslack.blockkit import validate_message_blocks, validate_view
from tests.fakeslack.records import Call, Ephemeral, Message, PostedResponse, SlackError, Upload, ViewRecord
from tests.fakeslack.render import rendered_text
from tests.fakeslack.server import FakeSlack
from tests.fakeslack.signing import (
    block_action_body,
    event_body,
    sample,
    signed_headers,
    slash_command_body,
    url_verification_body,
    view_submission_body,
)

__all__ = [
    "Call",
    "Ephemeral",
    "FakeSlack",
    "Message",
    "PostedResponse",
    "SlackError",
    "Upload",
    "ViewRecord",
    "block_action_body",
    "event_body",
    "rendered_text",
    "sample",
    "signed_headers",
    "slash_command_body",
    "url_verification_body",
    "validate_message_blocks",
    "validate_view",
    "view_submission_body",
]
