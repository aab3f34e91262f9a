"""Block Kit limits the fake enforces, and the plain text it renders blocks to."""

from __future__ import annotations

from typing import Any

import pytest
from slack_sdk.models.blocks import (
    ActionsBlock,
    ButtonElement,
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    MarkdownTextObject,
    SectionBlock,
)

from tests.fakeslack import rendered_text, validate_message_blocks, validate_view


def plain(text: str) -> dict[str, Any]:
    return {"type": "plain_text", "text": text}


def section(text: str, **extra: Any) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}, **extra}


def button(action_id: str = "vote_approve", label: str = "Approve", **extra: Any) -> dict[str, Any]:
    return {"type": "button", "action_id": action_id, "text": plain(label), **extra}


def actions(*elements: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"type": "actions", "elements": list(elements), **extra}


def modal(**extra: Any) -> dict[str, Any]:
    view = {"type": "modal", "title": plain("Reject"), "submit": plain("Reject"), "blocks": []}
    return {**view, **extra}


def escalation_message() -> list[dict[str, Any]]:
    """A vote message built the way the app builds it, with slack_sdk's models."""
    blocks = [
        HeaderBlock(text="Refund above mandate"),
        SectionBlock(
            text=MarkdownTextObject(text="*refund-bot* asks to refund <@U0OWNER01> $1,250 &amp; fees"),
            fields=[MarkdownTextObject(text="*Risk*\nhigh"), MarkdownTextObject(text="*Due*\n4h")],
        ),
        DividerBlock(),
        ActionsBlock(
            block_id="esc_vote",
            elements=[
                ButtonElement(text="Approve", action_id="vote_approve", value="e1", style="primary"),
                ButtonElement(text="Reject", action_id="vote_reject", value="e1", style="danger"),
            ],
        ),
        ContextBlock(elements=[MarkdownTextObject(text="0 of 3 voted")]),
    ]
    return [block.to_dict() for block in blocks]


def test_a_message_built_with_slack_sdk_models_is_valid() -> None:
    assert validate_message_blocks(escalation_message()) == []


def test_limits_are_inclusive_at_the_documented_number() -> None:
    blocks = [
        section("x" * 3000, block_id="b" * 255),
        {"type": "header", "text": plain("h" * 150)},
        actions(button("a" * 255, "l" * 75, value="v" * 2000, url="https://x/" + "u" * 2990)),
        {"type": "context", "elements": [plain(str(i)) for i in range(10)]},
        actions(*(button(f"a{i}") for i in range(25))),
    ]
    blocks += [{"type": "divider"}] * (50 - len(blocks))
    assert validate_message_blocks(blocks) == []


MESSAGE_VIOLATIONS = [
    (
        "51 blocks",
        [{"type": "divider"}] * 51,
        "no more than 50 items allowed [json-pointer:/blocks]",
    ),
    ("section text", [section("x" * 3001)], "3001 characters [json-pointer:/blocks/0/text/text]"),
    (
        "11 fields",
        [{"type": "section", "fields": [plain("f")] * 11}],
        "no more than 10 items allowed [json-pointer:/blocks/0/fields]",
    ),
    (
        "long field",
        [{"type": "section", "fields": [plain("f" * 2001)]}],
        "[json-pointer:/blocks/0/fields/0/text]",
    ),
    ("section empty", [{"type": "section"}], "must provide text or fields"),
    ("header", [{"type": "header", "text": plain("h" * 151)}], "/blocks/0/text/text"),
    (
        "mrkdwn header",
        [{"type": "header", "text": {"type": "mrkdwn", "text": "*h*"}}],
        "must be plain_text",
    ),
    ("context", [{"type": "context", "elements": [plain("c")] * 11}], "/blocks/0/elements]"),
    ("actions", [actions(*(button(f"a{i}") for i in range(26)))], "no more than 25 items"),
    ("button text", [actions(button(label="x" * 76))], "/elements/0/text/text"),
    ("action_id", [actions(button("a" * 256))], "/elements/0/action_id"),
    ("value", [actions(button(value="v" * 2001))], "/elements/0/value"),
    ("url", [actions(button(url="u" * 3001))], "/elements/0/url"),
    ("style", [actions(button(style="secondary"))], "one of primary, danger"),
    ("same action twice", [actions(button(), button())], "duplicate action_id: vote_approve"),
    ("block_id", [section("s", block_id="b" * 256)], "/blocks/0/block_id"),
    ("same block_id", [section("a", block_id="x"), section("b", block_id="x")], "duplicate"),
    ("empty text", [section("")], "more than 0 characters [json-pointer:/blocks/0/text/text]"),
    (
        "text type",
        [{"type": "section", "text": {"type": "markdown", "text": "x"}}],
        "must be one of plain_text, mrkdwn",
    ),
    ("unknown block", [{"type": "carousel"}], "unsupported block type: carousel"),
    ("unknown element", [actions({"type": "slider", "action_id": "s"})], "unsupported element"),
    (
        "input label",
        [{"type": "input", "label": plain("l" * 2001), "element": {"type": "plain_text_input"}}],
        "/blocks/0/label/text",
    ),
    (
        "input max_length",
        [
            {
                "type": "input",
                "label": plain("Why?"),
                "element": {"type": "plain_text_input", "max_length": 3001},
            }
        ],
        "/blocks/0/element/max_length",
    ),
]


@pytest.mark.parametrize(
    ("blocks", "expected"),
    [case[1:] for case in MESSAGE_VIOLATIONS],
    ids=[case[0] for case in MESSAGE_VIOLATIONS],
)
def test_a_message_over_a_limit_is_rejected_with_a_pointer(
    blocks: list[dict[str, Any]], expected: str
) -> None:
    errors = validate_message_blocks(blocks)
    assert any(expected in error for error in errors), errors


def test_the_same_action_id_in_two_blocks_is_allowed_as_slack_documents() -> None:
    blocks = [actions(button(), block_id="esc_1"), actions(button(), block_id="esc_2")]
    assert validate_message_blocks(blocks) == []


def test_a_valid_modal_and_home_pass() -> None:
    reason = {
        "type": "input",
        "block_id": "reason",
        "label": plain("Why reject?"),
        "element": {"type": "plain_text_input", "action_id": "reason_input", "max_length": 3000},
    }
    view = modal(blocks=[reason], callback_id="c" * 255, private_metadata="m" * 3000)
    assert validate_view(view, surface="modal") == []
    home = {"type": "home", "blocks": [{"type": "divider"}] * 100}
    assert validate_view(home, surface="home") == []


VIEW_VIOLATIONS = [
    ("title", modal(title=plain("t" * 25)), "modal", "/view/title/text"),
    ("no title", {"type": "modal", "blocks": []}, "modal", "/view/title"),
    ("submit", modal(submit=plain("s" * 25)), "modal", "/view/submit/text"),
    ("close", modal(close=plain("c" * 25)), "modal", "/view/close/text"),
    ("callback_id", modal(callback_id="c" * 256), "modal", "/view/callback_id"),
    ("private_metadata", modal(private_metadata="m" * 3001), "modal", "/view/private_metadata"),
    ("101 blocks", modal(blocks=[{"type": "divider"}] * 101), "modal", "no more than 100"),
    ("home as modal", {"type": "home", "blocks": []}, "modal", "must be modal"),
    ("home 101", {"type": "home", "blocks": [{"type": "divider"}] * 101}, "home", "/view/blocks"),
    ("home without blocks", {"type": "home"}, "home", "missing required field: blocks"),
    (
        "input without submit",
        {
            "type": "modal",
            "title": plain("Reject"),
            "blocks": [{"type": "input", "label": plain("Why?"), "element": {"type": "plain_text_input"}}],
        },
        "modal",
        "/view/submit",
    ),
]


@pytest.mark.parametrize(
    ("view", "surface", "expected"),
    [case[1:] for case in VIEW_VIOLATIONS],
    ids=[case[0] for case in VIEW_VIOLATIONS],
)
def test_a_view_over_a_limit_is_rejected_with_a_pointer(
    view: dict[str, Any], surface: str, expected: str
) -> None:
    errors = validate_view(view, surface=surface)
    assert any(expected in error for error in errors), errors


def test_rendered_text_reads_like_the_slack_client() -> None:
    message = {"text": "fallback", "blocks": escalation_message()}
    users = {"U0OWNER01": {"real_name": "Olga Owner"}}
    assert rendered_text(message, users=users).splitlines() == [
        "Refund above mandate",
        "*refund-bot* asks to refund @Olga Owner $1,250 & fees",
        "*Risk*",
        "high",
        "*Due*",
        "4h",
        "---",
        "[Approve] [Reject]",
        "0 of 3 voted",
    ]


def test_rendered_text_falls_back_to_the_message_text() -> None:
    message = {"text": "See <https://example.com/e/1|escalation> in <#C0COUNCIL|ai-council>"}
    assert rendered_text(message) == "See escalation in #ai-council"
