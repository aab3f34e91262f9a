"""/council decisions and /council export decisions: what each form answers, and the CSV in the DM.

The argument forms go through `commands.answer` (the words as Slack sends them, on a real database);
the export goes end to end: a signed slash command into the real app, the outbox worker, and the
file as our fake Slack received it over HTTP.
"""

from __future__ import annotations

import asyncio
import csv
import io
from datetime import UTC, datetime, timedelta

import aiohttp
import pytest
from slack_sdk.web.async_client import AsyncWebClient

from bot.app_keys import RUNTIME
from bot.errors import CouncilError
from bot.outbox import export_effects
from bot.outbox.events import DecisionLogAsked
from bot.outbox.outcomes import DELIVER
from bot.outbox.slack_effects import Moot, Transport
from bot.services import agents, config, decision_log
from bot.slack.admin_views import MAX_ANSWER
from bot.slack.decision_log_view import DECISIONS_USAGE, EXPORT_DECISIONS_USAGE
from handlers.slack import commands, log_commands
from handlers.slack.arguments import words
from handlers.slack.errors import shown
from models import OutboxItem
from models.enums import Delivery
from tests.bot.services.test_decision_log import (
    ABSTAIN_REASON,
    FORMULA_REASON,
    FORMULA_TITLE,
    LOG_YML,
    Log,
    build_log,
    decisions_of,
    read_csv,
)
from tests.fakeslack import Upload
from tests.handlers.slack.test_home_and_commands import command
from tests.harness import Harness

ADMIN, MEMBER = "U0ADMIN01", "U0TECH001"
WORKSPACE = "https://council-test.slack.com/"
OUTCOMES = "`approved`, `rejected`, `expired`"
OPTIONS = "(options: `agent=`, `outcome=`, `since=`)"


async def _ask(text: str, user: str = ADMIN) -> str:
    """What the person reads: the answer, or the refusal as the listener's guard shows it."""
    try:
        return await commands.answer(text, user)
    except CouncilError as refusal:
        return shown(refusal)


@pytest.fixture
async def configured(database: str) -> None:
    """The council and both agents on a fresh database, without the app: for the words alone."""
    await config.apply_text(LOG_YML, source="council.yml")


async def _log(council: Harness) -> Log:
    """The four decisions of the service tests, made in the running app, each message posted."""
    rt = council.app[RUNTIME]
    await config.apply_text(LOG_YML, source="council.yml")
    ops_bot = await agents.create(
        name="ops-bot", owner="U0OWNER02", council="ai-council", server_key=rt.server_key
    )
    log = await build_log(rt, council.creds, ops_bot)
    for public_id in (log.approved, log.rejected, log.expired):
        await council.posted(public_id)
    return log


async def _settled() -> None:
    for _ in range(400):
        if not await OutboxItem.filter(status=Delivery.PENDING).exists():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the outbox never emptied")


async def _permalink(council: Harness, public_id: str) -> str:
    """What Slack itself answers for the escalation's message (chat.getPermalink)."""
    escalation = await council.posted(public_id)
    client = AsyncWebClient(token=council.fake.token, base_url=council.fake.api_url)
    answer = await client.chat_getPermalink(channel=escalation.channel_id, message_ts=escalation.message_ts)
    return str(answer["permalink"])


def _ids(answer: str) -> list[str]:
    return [line.split("`")[1] for line in answer.splitlines() if line.startswith("• `")]


async def test_every_form_of_decisions_lists_the_right_ones_newest_first(council: Harness) -> None:
    assert await _ask("decisions") == "No decisions yet."
    log = await _log(council)
    every = [log.by_policy, log.expired, log.rejected, log.approved]
    answer = await _ask("decisions", user=MEMBER)
    assert answer.splitlines()[0] == "The last 4 decisions, newest first:" and _ids(answer) == every
    assert _ids(await _ask("decisions 2")) == every[:2]
    assert (await _ask("decisions 2")).splitlines()[-1] == (
        "_2 more match: `/council decisions 50` shows up to 50, and `/council export decisions` "
        "(admins) sends the whole log as CSV._"
    )
    assert _ids(await _ask("decisions 500")) == every  # at most 50: all four here
    assert (await _ask("decisions 1")).splitlines()[0] == "The last decision:"
    assert _ids(await _ask("decisions agent=ops-bot")) == [log.rejected]
    assert _ids(await _ask('decisions agent="refund-bot"')) == [log.by_policy, log.expired, log.approved]
    assert _ids(await _ask("decisions outcome=approved")) == [log.approved]
    assert _ids(await _ask("decisions outcome=REJECTED")) == [log.by_policy, log.rejected]
    assert _ids(await _ask("decisions OUTCOME=expired")) == [log.expired]
    assert _ids(await _ask("decisions since=2026-03-03")) == [log.by_policy, log.expired]
    combined = await _ask("decisions 1 agent=refund-bot outcome=rejected since=2026-03-01")
    assert (
        combined.splitlines()[0]
        == "The last decision (agent *refund-bot*, outcome rejected, since 2026-03-01):"
    )
    assert _ids(combined) == [log.by_policy]
    assert await _ask("decisions agent=ops-bot outcome=approved") == (
        "No decisions match agent *ops-bot*, outcome approved."
    )
    today = datetime.now(UTC).date().isoformat()
    assert await _ask(f"decisions since={today}") == f"No decisions match since {today}."


async def test_each_line_says_the_amount_agent_outcome_who_when_and_tally(council: Harness) -> None:
    log = await _log(council)
    lines = {line.split("`")[1]: line for line in (await _ask("decisions")).splitlines()[1:]}
    assert lines[log.approved] == (
        f"• `{log.approved}` Refund order 1042 ($1,250.50) from refund-bot — *approved* by council, "
        "2026-03-01 09:00 UTC · 2 approve, 0 reject, 0 abstain, 1 waiting"
    )
    assert lines[log.rejected] == (
        f'• `{log.rejected}` @SUM(1+1) refund, "quoted" for &lt;!channel&gt; (€80) from ops-bot — '
        "*rejected* by council, 2026-03-02 12:00 UTC · 0 approve, 1 reject, 1 abstain, 1 waiting"
    )
    assert lines[log.expired].endswith(
        "— *expired* by timeout, 2026-03-03 12:00 UTC · 0 approve, 0 reject, 0 abstain, 3 waiting"
    )
    assert lines[log.by_policy].endswith(
        "(20) from refund-bot — *rejected* by policy, 2026-03-04 12:00 UTC · no vote"
    )


async def test_with_the_workspace_url_each_title_links_to_its_message(council: Harness) -> None:
    log = await _log(council)
    # The workspace's address from the team_domain of the slash command Slack sent.
    workspace_url = decision_log.workspace_of("council-test")
    answer = await log_commands.decisions(words([]), MEMBER, workspace_url=workspace_url)
    lines = {line.split("`")[1]: line for line in answer.splitlines()[1:]}
    approved = await _permalink(council, log.approved)
    assert f"`{log.approved}` <{approved}|Refund order 1042> ($1,250.50)" in lines[log.approved]
    rejected = await _permalink(council, log.rejected)
    # The label is escaped and cannot close the link or ping the channel.
    assert (
        f'`{log.rejected}` <{rejected}|@SUM(1+1) refund, "quoted" for &lt;!channel&gt;> (€80)'
        in lines[log.rejected]
    )
    assert "<!channel>" not in answer
    # Decided by policy at once: it never had a message, so nothing to link to.
    assert f"`{log.by_policy}` Small refund (20)" in lines[log.by_policy]
    # Without the workspace's address, the same lines without links.
    plain = await log_commands.decisions(words([]), MEMBER)
    assert "<https://" not in plain and _ids(plain) == _ids(answer)


# What each mistyped or malformed command answers (one database for all: each setup costs seconds).
MISTAKES = [
    ("decisions 5 6", DECISIONS_USAGE),
    ("decisions colour=red", f"`colour=` is not an option here {OPTIONS}. {DECISIONS_USAGE}"),
    ("decisions ten", "`ten` is not a number of decisions; try `/council decisions 20`."),
    ("decisions 0", "`0` is not a number of decisions; try `/council decisions 20`."),
    ("decisions -3", "`-3` is not a number of decisions; try `/council decisions 20`."),
    ("decisions ²", "`²` is not a number of decisions; try `/council decisions 20`."),
    ("decisions agent=", f"`agent=` needs a value. {DECISIONS_USAGE}"),
    ("decisions outcome=", f"`outcome=` needs a value. {DECISIONS_USAGE}"),
    ("decisions since=", f"`since=` needs a value. {DECISIONS_USAGE}"),
    ("decisions agent=nobody", "There is no agent named `nobody`. `/council agents` lists them."),
    (
        "decisions agent=refund-bto",
        "There is no agent named `refund-bto`. Did you mean `refund-bot`? `/council agents` lists them.",
    ),
    (
        "decisions outcome=aproved",
        f"`outcome=aproved` is not an outcome; it takes {OUTCOMES}. Did you mean `outcome=approved`?",
    ),
    ("decisions outcome=maybe", f"`outcome=maybe` is not an outcome; it takes {OUTCOMES}."),
    (
        "decisions outcome=withdrawn",
        f"`withdrawn` escalations have no decision to list; `outcome=` takes {OUTCOMES}.",
    ),
    (
        "decisions outcome=<!channel>",
        f"`outcome=&lt;!channel&gt;` is not an outcome; it takes {OUTCOMES}.",
    ),
    (
        "decisions since=2026-13-01",
        "`since=2026-13-01` is not a date; write it YYYY-MM-DD, for example `since=2026-12-24`.",
    ),
    (
        "decisions since=yesterday",
        "`since=yesterday` is not a date; write it YYYY-MM-DD, for example `since=2026-12-24`.",
    ),
    (
        "decisions since=2099-01-01",
        "`since=2099-01-01` is in the future; nothing has been decided since then yet.",
    ),
    ("decisions since=2026-01-01 since=2026-02-01", "`since=` is given twice; give it once."),
    (
        'decisions agent="refund-bot',
        'I could not read that command: a `"` is not closed. Try `/council help`.',
    ),
    ("export decisions now", EXPORT_DECISIONS_USAGE),
    (
        "export decisions agent=refund-bot",
        f"`agent=` is not an option here (options: `since=`). {EXPORT_DECISIONS_USAGE}",
    ),
    ("export decisions since=", f"`since=` needs a day. {EXPORT_DECISIONS_USAGE}"),
    (
        "export decisions since=2026-02-30",
        "`since=2026-02-30` is not a date; write it YYYY-MM-DD, for example `since=2026-12-24`.",
    ),
]


async def test_typos_and_malformed_words_get_a_precise_answer(configured: None) -> None:
    for text, said in MISTAKES:
        assert await _ask(text) == said, text
    assert not await OutboxItem.filter(kind="decision_log.asked").exists()


async def test_fifty_long_hostile_titles_still_fit_in_one_answer(council: Harness) -> None:
    await config.apply_text(LOG_YML, source="council.yml")
    hostile = "<!channel> & <http://evil.example|bank> " * 10
    for n in range(53):
        status, _ = await council.escalate(
            {"kind": "approval", "title": f"{n} {hostile}"[:200], "category": "small"}
        )
        assert status == 201
    answer = await log_commands.decisions(words(["50"]), MEMBER, workspace_url=WORKSPACE)
    assert len(answer) <= MAX_ANSWER and "<!channel>" not in answer and "<http" not in answer
    lines = answer.splitlines()
    assert lines[0] == "The last 50 decisions, newest first:" and len(_ids(answer)) == 50
    assert lines[-1].startswith("_3 more match: ")


async def test_a_member_who_asks_for_the_export_learns_who_the_admins_are(council: Harness) -> None:
    answer = await command(council, "export decisions", user=MEMBER)
    assert answer == (
        "Only Council admins can export the decision log: <@U0ADMIN01>. `/council decisions` lists the "
        "latest ones for everyone."
    )
    # Even with malformed words, a member learns who may, not how to spell it.
    assert await _ask("export decisions since=soon", user=MEMBER) == answer
    await asyncio.sleep(0.2)
    assert not await OutboxItem.filter(kind="decision_log.asked").exists()
    assert not council.fake.uploads


async def test_decisions_typed_in_slack_are_answered_privately(council: Harness) -> None:
    log = await _log(council)
    answer = await command(council, "decisions outcome=rejected", user=MEMBER)
    assert _ids(answer) == [log.by_policy, log.rejected]
    assert "for &lt;!channel&gt;" in answer and "<!channel>" not in answer
    assert await command(council, "decisions outcome=aproved", user=MEMBER) == (
        f"`outcome=aproved` is not an outcome; it takes {OUTCOMES}. Did you mean `outcome=approved`?"
    )


async def test_decisions_typed_in_slack_link_each_title_to_its_message(council: Harness) -> None:
    log = await _log(council)
    answer = await command(council, "decisions", user=MEMBER)
    assert f"<{await _permalink(council, log.approved)}|Refund order 1042>" in answer


def _the_export(council: Harness) -> list[Upload]:
    return council.fake.uploads_in(ADMIN)


async def test_an_admin_gets_the_whole_log_as_csv_in_their_dm_and_nowhere_else(council: Harness) -> None:
    log = await _log(council)
    # Typed in the council's channel: the answer is private, and the file goes to the admin's DM.
    answer = await command(council, "export decisions", user=ADMIN)
    assert answer == (
        "The decision log (every decision, with every vote and reason) is on its way as a CSV file, "
        "in your direct messages with Council. Only you receive it."
    )
    [upload] = await council.fake.wait_for(lambda: _the_export(council), timeout=20)
    assert upload.channels == [council.fake.dm_channel(ADMIN)] == ["D0ADMIN01"]
    assert not council.fake.uploads_in("C0COUNCIL") and len(council.fake.uploads) == 1
    assert upload.filename == f"council-decisions-{datetime.now(UTC).date().isoformat()}.csv"
    assert upload.title == "Council decision log"
    assert upload.initial_comment is not None and upload.initial_comment.startswith(
        "The decision log you asked for: *4* decisions, one row per vote"
    )
    methods = [call.method for call in council.fake.calls]
    opened = methods.index("conversations.open")
    assert methods[opened:].index("files.getUploadURLExternal") < methods[opened:].index(
        "files.completeUploadExternal"
    )
    [completed] = [call for call in council.fake.calls if call.method == "files.completeUploadExternal"]
    assert completed.args.get("channel_id") == "D0ADMIN01" and not completed.args.get("channels")

    text = upload.content.decode("utf-8")
    assert text.startswith("\ufeff")  # so Excel reads it as UTF-8
    found = decisions_of(read_csv(text))
    assert list(found) == [log.approved, log.rejected, log.expired, log.by_policy]
    approved = found[log.approved]
    assert (approved["proposed_amount"], approved["approved_amount"], approved["executed_amount"]) == (
        "1250.5",
        "1000",
        "999.99",
    )
    assert approved["currency"] == "USD"
    assert approved["votes"][0] == {
        "user": "U0TECH001",
        "on_behalf_of": "",
        "function": "technology",
        "choice": "approve",
        "reason": "charged twice",
        "conditions": "to the card only",
        "approved_amount": "1000",
    }
    assert approved["message_link"] == await _permalink(council, log.approved)
    rejected = found[log.rejected]
    assert rejected["title"] == FORMULA_TITLE
    assert [(v["user"], v["choice"], v["reason"]) for v in rejected["votes"]] == [
        ("U0PEOPLE1", "abstain", ABSTAIN_REASON),
        ("U0TECH001", "reject", FORMULA_REASON),
    ]
    cells = [cell for row in csv.reader(io.StringIO(text, newline="")) for cell in row]
    assert "'" + FORMULA_TITLE in cells and "'" + FORMULA_REASON in cells  # shown, never run
    await _settled()
    assert await OutboxItem.filter(kind="decision_log.asked", status=Delivery.DONE).count() == 1


async def test_since_exports_only_the_later_decisions(council: Harness) -> None:
    log = await _log(council)
    answer = await command(council, "export decisions since=2026-03-03", user=ADMIN)
    assert answer.startswith("The decision log (decided since 2026-03-03, with every vote and reason)")
    [upload] = await council.fake.wait_for(lambda: _the_export(council), timeout=20)
    assert list(decisions_of(read_csv(upload.content.decode("utf-8")))) == [log.expired, log.by_policy]
    assert (
        upload.filename == f"council-decisions-since-2026-03-03-to-{datetime.now(UTC).date().isoformat()}.csv"
    )
    assert (
        upload.initial_comment is not None
        and "*2* decisions decided since 2026-03-03" in upload.initial_comment
    )


async def test_an_export_for_someone_no_longer_an_admin_is_dropped(council: Harness) -> None:
    event = DecisionLogAsked(user=MEMBER)
    row = await OutboxItem.create(
        kind=event.type, payload={"user": MEMBER}, next_attempt_at=datetime.now(UTC) + timedelta(days=1)
    )
    async with aiohttp.ClientSession() as http:
        transport = Transport(
            slack=AsyncWebClient(token=council.fake.token, base_url=council.fake.api_url),
            http=http,
            server_key=b"k" * 32,
            allow_private=True,
        )
        with pytest.raises(Moot, match="U0TECH001 is no longer an admin"):
            await export_effects.send(transport, row, event)
    assert not council.fake.uploads and not council.fake.dms(MEMBER)


def test_the_worker_delivers_the_export_and_paces_each_of_its_calls() -> None:
    event = DecisionLogAsked(user=ADMIN)
    row = OutboxItem(kind=event.type, payload={"user": ADMIN})
    assert DELIVER[DecisionLogAsked] is export_effects.send
    planned = export_effects.planned_calls(export_effects.send, row, event)
    assert [call.method for call in planned] == [
        "auth.test",
        "conversations.open",
        "files.getUploadURLExternal",
        "files.completeUploadExternal",
    ]
    assert export_effects.planned_calls(object(), row, event) == []
