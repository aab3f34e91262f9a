"""Block Kit limits as Slack documents them, checked the way Slack answers: json-pointer errors."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tests.fakeslack.records import SlackError

MAX_MESSAGE_BLOCKS = 50
MAX_VIEW_BLOCKS = 100
MAX_MESSAGE_TEXT = 40_000

BLOCK_TYPES = frozenset(
    {"actions", "context", "divider", "file", "header", "image", "input", "markdown"}
    | {"rich_text", "section", "video", "call"}
)
SELECTS = frozenset(
    f"{multi}{kind}_select"
    for multi in ("", "multi_")
    for kind in ("static", "external", "users", "conversations", "channels")
)
INPUTS = frozenset(
    {"plain_text_input", "number_input", "email_text_input", "url_text_input"}
    | {"rich_text_input", "datepicker", "timepicker", "datetimepicker", "file_input"}
)
ELEMENT_TYPES = SELECTS | INPUTS | {"button", "overflow", "checkboxes", "radio_buttons", "image"}


def invalid_blocks(errors: list[str]) -> SlackError:
    """Return Slack's answer to a message whose blocks break the rules."""
    return SlackError(
        "invalid_blocks",
        errors=errors,
        response_metadata={"messages": [f"[ERROR] {e}" for e in errors]},
    )


def invalid_view(errors: list[str]) -> SlackError:
    """Return Slack's answer to a views.* call whose view breaks the rules."""
    return SlackError(
        "invalid_arguments",
        response_metadata={"messages": [f"[ERROR] {e}" for e in errors]},
    )


def validate_message_blocks(blocks: Any) -> list[str]:
    """Return what is wrong with a message's `blocks` (empty when Slack would accept them)."""
    check = _Checker()
    check.blocks(blocks, "/blocks", MAX_MESSAGE_BLOCKS)
    return check.errors


def validate_view(view: Any, *, surface: str) -> list[str]:
    """Return what is wrong with a `modal` or `home` view (empty when Slack would accept it)."""
    check = _Checker()
    if not isinstance(view, Mapping):
        check.error("must be an object", "/view")
        return check.errors
    if view.get("type") != surface:
        check.error(f"must be {surface}", "/view/type")
    if surface == "modal":
        check.text(view.get("title"), "/view/title", 24, plain=True)
        for key in ("submit", "close"):
            if view.get(key) is not None:
                check.text(view[key], f"/view/{key}", 24, plain=True)
        blocks = view.get("blocks")
        has_input = isinstance(blocks, list) and any(
            isinstance(b, Mapping) and b.get("type") == "input" for b in blocks
        )
        if has_input and view.get("submit") is None:
            check.error("submit is required when the view has input blocks", "/view/submit")
    check.length(view.get("callback_id"), "/view/callback_id", 255)
    check.length(view.get("external_id"), "/view/external_id", 255)
    check.length(view.get("private_metadata"), "/view/private_metadata", 3000)
    if surface == "home" and view.get("blocks") is None:  # required (an empty list is accepted)
        check.error("missing required field: blocks", "/view/blocks")
    check.blocks(view.get("blocks"), "/view/blocks", MAX_VIEW_BLOCKS)
    return check.errors


class _Checker:
    """Collects every broken limit in one surface, like Slack's schema validator."""

    def __init__(self) -> None:
        self.errors: list[str] = []
        self.block_ids: set[str] = set()

    def error(self, message: str, pointer: str) -> None:
        self.errors.append(f"{message} [json-pointer:{pointer}]")

    def length(self, value: Any, pointer: str, limit: int) -> None:
        if value is None:
            return
        if not isinstance(value, str):
            self.error("must be a string", pointer)
        elif len(value) > limit:
            self.error(f"must be less than {limit + 1} characters", pointer)

    def count(self, items: Any, pointer: str, limit: int, *, minimum: int = 1) -> list[Any]:
        if not isinstance(items, list):
            self.error("must be an array", pointer)
            return []
        if len(items) > limit:
            self.error(f"no more than {limit} items allowed", pointer)
        if len(items) < minimum:
            self.error(f"must provide at least {minimum} items", pointer)
        return items

    def text(self, obj: Any, pointer: str, limit: int = 3000, *, plain: bool = False) -> None:
        if not isinstance(obj, Mapping):
            self.error("must provide an object", pointer)
            return
        kind = obj.get("type")
        if kind not in ("plain_text", "mrkdwn"):
            self.error("must be one of plain_text, mrkdwn", f"{pointer}/type")
        elif plain and kind != "plain_text":
            self.error("must be plain_text", f"{pointer}/type")
        text = obj.get("text")
        if not isinstance(text, str) or not text:
            self.error("must be more than 0 characters", f"{pointer}/text")
        else:
            self.length(text, f"{pointer}/text", limit)

    def blocks(self, blocks: Any, pointer: str, limit: int) -> None:
        if blocks is None:
            return
        for i, block in enumerate(self.count(blocks, pointer, limit, minimum=0)):
            self.block(block, f"{pointer}/{i}")

    def block(self, block: Any, at: str) -> None:
        if not isinstance(block, Mapping) or block.get("type") not in BLOCK_TYPES:
            kind = block.get("type") if isinstance(block, Mapping) else block
            self.error(f"unsupported block type: {kind}", at)
            return
        block_id = block.get("block_id")
        self.length(block_id, f"{at}/block_id", 255)
        if isinstance(block_id, str):
            if block_id in self.block_ids:
                self.error(f"duplicate block_id: {block_id}", f"{at}/block_id")
            self.block_ids.add(block_id)
        action_ids: set[str] = set()  # Slack wants action_ids unique within their block.
        kind = block["type"]
        if kind == "section":
            self.section(block, at, action_ids)
        elif kind == "header":
            self.text(block.get("text"), f"{at}/text", 150, plain=True)
        elif kind == "context":
            for i, el in enumerate(self.count(block.get("elements"), f"{at}/elements", 10)):
                if isinstance(el, Mapping) and el.get("type") == "image":
                    self.element(el, f"{at}/elements/{i}", action_ids)
                else:
                    self.text(el, f"{at}/elements/{i}")
        elif kind == "actions":
            for i, el in enumerate(self.count(block.get("elements"), f"{at}/elements", 25)):
                self.element(el, f"{at}/elements/{i}", action_ids)
        elif kind == "input":
            self.text(block.get("label"), f"{at}/label", 2000, plain=True)
            if block.get("hint") is not None:
                self.text(block["hint"], f"{at}/hint", 2000, plain=True)
            self.element(block.get("element"), f"{at}/element", action_ids)
        elif kind == "image":
            self.image(block, at)
            if block.get("title") is not None:
                self.text(block["title"], f"{at}/title", 2000, plain=True)
        elif kind == "markdown":
            self.length(block.get("text"), f"{at}/text", 12_000)

    def section(self, block: Mapping[str, Any], at: str, action_ids: set[str]) -> None:
        if block.get("text") is None and block.get("fields") is None:
            self.error("must provide text or fields", at)
        if block.get("text") is not None:
            self.text(block["text"], f"{at}/text", 3000)
        if block.get("fields") is not None:
            for i, field in enumerate(self.count(block["fields"], f"{at}/fields", 10)):
                self.text(field, f"{at}/fields/{i}", 2000)
        if block.get("accessory") is not None:
            self.element(block["accessory"], f"{at}/accessory", action_ids)

    def image(self, image: Mapping[str, Any], at: str) -> None:
        if image.get("image_url") is None and image.get("slack_file") is None:
            self.error("must provide image_url or slack_file", at)
        self.length(image.get("image_url"), f"{at}/image_url", 3000)
        if not image.get("alt_text"):
            self.error("must provide alt_text", f"{at}/alt_text")
        self.length(image.get("alt_text"), f"{at}/alt_text", 2000)

    def element(self, el: Any, at: str, action_ids: set[str]) -> None:
        if not isinstance(el, Mapping) or el.get("type") not in ELEMENT_TYPES:
            kind = el.get("type") if isinstance(el, Mapping) else el
            self.error(f"unsupported element type: {kind}", at)
            return
        kind = el["type"]
        if kind == "image":
            self.image(el, at)
            return
        action_id = el.get("action_id")
        self.length(action_id, f"{at}/action_id", 255)
        if isinstance(action_id, str):
            if action_id in action_ids:
                self.error(f"duplicate action_id: {action_id}", f"{at}/action_id")
            action_ids.add(action_id)
        if el.get("placeholder") is not None:
            self.text(el["placeholder"], f"{at}/placeholder", 150, plain=True)
        if el.get("confirm") is not None:
            self.confirm(el["confirm"], f"{at}/confirm")
        if kind == "button":
            self.button(el, at)
        elif kind in ("static_select", "multi_static_select") and el.get("options") is not None:
            self.options(el["options"], f"{at}/options", 100, plain=True)
        elif kind == "overflow":
            self.options(el.get("options"), f"{at}/options", 5, plain=True)
        elif kind in ("checkboxes", "radio_buttons"):
            self.options(el.get("options"), f"{at}/options", 10, plain=False)
        elif kind == "plain_text_input":
            for key in ("min_length", "max_length"):
                value = el.get(key)
                if value is not None and (not isinstance(value, int) or not 0 <= value <= 3000):
                    self.error("must be between 0 and 3000", f"{at}/{key}")

    def button(self, el: Mapping[str, Any], at: str) -> None:
        self.text(el.get("text"), f"{at}/text", 75, plain=True)
        self.length(el.get("value"), f"{at}/value", 2000)
        self.length(el.get("url"), f"{at}/url", 3000)
        self.length(el.get("accessibility_label"), f"{at}/accessibility_label", 75)
        if el.get("style") is not None and el["style"] not in ("primary", "danger"):
            self.error("must be one of primary, danger", f"{at}/style")

    def options(self, options: Any, at: str, limit: int, *, plain: bool) -> None:
        for i, option in enumerate(self.count(options, at, limit)):
            if not isinstance(option, Mapping):
                self.error("must provide an object", f"{at}/{i}")
                continue
            self.text(option.get("text"), f"{at}/{i}/text", 75, plain=plain)
            self.length(option.get("value"), f"{at}/{i}/value", 150)
            if option.get("description") is not None:
                self.text(option["description"], f"{at}/{i}/description", 75, plain=plain)

    def confirm(self, confirm: Any, at: str) -> None:
        if not isinstance(confirm, Mapping):
            self.error("must provide an object", at)
            return
        self.text(confirm.get("title"), f"{at}/title", 100, plain=True)
        self.text(confirm.get("text"), f"{at}/text", 300)
        self.text(confirm.get("confirm"), f"{at}/confirm", 30, plain=True)
        self.text(confirm.get("deny"), f"{at}/deny", 30, plain=True)
        if confirm.get("style") is not None and confirm["style"] not in ("primary", "danger"):
            self.error("must be one of primary, danger", f"{at}/style")
