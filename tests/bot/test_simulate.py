"""`council policy simulate` as an admin runs it: the hand-built month as text and JSON, and bad input.

The month is tests/bot/services/test_simulate.py's, built for the 30 days up to the minute the test
starts; the command runs through the real entry point on SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
import os
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot import db
from tests.bot.services.test_simulate import CURRENT_YML, PROPOSED_YML, build_month, public_id
from tests.bot.test_cli import run

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def env(database_url: str, tmp_path: Path) -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "COUNCIL_", "DATABASE_URL"))}
    return clean | {
        "DATABASE_URL": database_url,
        "COUNCIL_SECRET_KEY_FILE": str(tmp_path / "council.key"),
        "PYTHONPATH": str(ROOT),
    }


@pytest.fixture
async def month(env: dict[str, str], database_url: str, tmp_path: Path) -> datetime:
    """Build the month up to this minute; return the minute (START is 30 days before it)."""
    minute = datetime.now(UTC).replace(second=0, microsecond=0)
    await db.init(database_url)
    try:
        await build_month(minute)
    finally:
        await db.close()
    (tmp_path / "proposed.yml").write_text(PROPOSED_YML)
    (tmp_path / "current.yml").write_text(CURRENT_YML)
    return minute


def at(minute: datetime, hours: float) -> str:
    """The time a row of the month was created, as the text shows it."""
    return (minute - timedelta(days=30) + timedelta(hours=hours)).strftime("%Y-%m-%d %H:%M")


def test_the_month_as_text(month: datetime, env: dict[str, str], tmp_path: Path) -> None:
    result = run("policy", "simulate", "proposed.yml", env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    first, *lines = result.stdout.splitlines()
    found = re.fullmatch(
        r"Simulating proposed.yml against the 14 escalations of the last 30d "
        r"\((.{16}) to (.{16}) UTC\)\.",
        first,
    )
    assert found is not None, first
    start, end = (datetime.strptime(t, "%Y-%m-%d %H:%M").replace(tzinfo=UTC) for t in found.groups())
    assert end - start == timedelta(days=30) and month <= end <= month + timedelta(minutes=5)
    approved = "auto-approved: approved by policy small-refunds within refund-bot's mandate"
    voted = "to ai-council by policy approvals (majority · quorum 2)"
    assert lines == [
        "Read only: nothing was changed, posted or sent.",
        "",
        "                                 actually             with proposed.yml",
        "auto-approved                      3  $230              5  $1,500",
        "auto-rejected                      1  $600              2  $7,300",
        "sent to a council                 10  €800 + $18,220    6  $10,250",
        "  of which over the auto budget    0                    1  $150",
        "refused                            0                    1  €800",
        "",
        "What would change: 10 of 14 escalations",
        "  would be auto-approved        3  $1,420",
        "  would be auto-rejected        2  $7,300",
        "  would hit the auto budget     1  $150",
        "  would go to a council         1  $600",
        "  to another council or rule    2  $7,500",
        "  would be refused              1  €800",
        "  unchanged                     4  $2,080",
        "",
        "Each change, oldest first:",
        f"  {at(month, 1)}  {public_id(1)}  refund-bot  approval  $450",
        f"    was:       {voted}, approved by the council",
        f"    would be:  {approved}",
        f"  {at(month, 3)}  {public_id(2)}  refund-bot  approval  $150",
        f"    was:       {approved}",
        "    would be:  to ai-council by policy small-refunds (majority), over the auto budget",
        f"  {at(month, 238)}  {public_id(5)}  refund-bot  approval  $600",
        "    was:       auto-rejected: rejected by policy no-crypto",
        "    would be:  to finance-council by policy crypto (single decider)",
        f"  {at(month, 286)}  {public_id(6)}  refund-bot  approval  $300",
        f"    was:       {voted}, rejected by the council",
        "    would be:  auto-rejected: rejected by policy no-gift-cards",
        f"  {at(month, 334)}  {public_id(7)}  refund-bot  approval  $7,000",
        f"    was:       {voted}, approved by the council",
        "    would be:  auto-rejected: $7,000 is over refund-bot's hard cap of $5,000 per action",
        f"  {at(month, 382)}  {public_id(8)}  refund-bot  approval  $3,000",
        f"    was:       {voted}, expired at the deadline",
        "    would be:  to finance-council by policy vendor-payments (single decider)",
        f"  {at(month, 430)}  {public_id(9)}  refund-bot  approval  $4,500",
        f"    was:       {voted}, approved by the council",
        "    would be:  to ai-council by policy big-refunds (unanimous)",
        f"  {at(month, 478)}  {public_id(10)}  pricing-bot  approval  €800",
        f"    was:       {voted}, approved by the council",
        "    would be:  refused: pricing-bot would be paused: removed from council.yml",
        f"  {at(month, 621)}  {public_id(12)}  refund-bot  approval  $480",
        f"    was:       {voted}, pending",
        f"    would be:  {approved}",
        f"  {at(month, 622)}  {public_id(13)}  refund-bot  approval  $490",
        f"    was:       {voted}, approved by the council",
        f"    would be:  {approved}",
    ]
    assert result.stderr == ""


def test_the_month_as_json(month: datetime, env: dict[str, str], tmp_path: Path) -> None:
    result = run("policy", "simulate", "proposed.yml", "--json", env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    found = json.loads(result.stdout)
    assert set(found) == {
        "file", "since", "start", "end", "escalations", "actual", "proposed", "changes", "changed",
    }  # fmt: skip
    assert (found["file"], found["since"], found["escalations"]) == ("proposed.yml", "30d", 14)
    counts = {side: {k: v["count"] for k, v in found[side].items()} for side in ("actual", "proposed")}
    assert counts == {
        "actual": {"auto_approved": 3, "auto_rejected": 1, "council": 10, "over_budget": 0, "refused": 0},
        "proposed": {"auto_approved": 5, "auto_rejected": 2, "council": 6, "over_budget": 1, "refused": 1},
    }
    assert found["actual"]["council"]["amounts"] == [
        {"currency": "EUR", "amount": "800"},
        {"currency": "USD", "amount": "18220"},
    ]
    assert {name: (v["count"], v["amounts"]) for name, v in found["changes"].items()} == {
        "auto_approved": (3, [{"currency": "USD", "amount": "1420"}]),
        "auto_rejected": (2, [{"currency": "USD", "amount": "7300"}]),
        "over_budget": (1, [{"currency": "USD", "amount": "150"}]),
        "to_council": (1, [{"currency": "USD", "amount": "600"}]),
        "rerouted": (2, [{"currency": "USD", "amount": "7500"}]),
        "refused": (1, [{"currency": "EUR", "amount": "800"}]),
        "unchanged": (4, [{"currency": "USD", "amount": "2080"}]),
    }
    assert [each["change"] for each in found["changed"]] == [
        "auto_approved", "over_budget", "to_council", "auto_rejected", "auto_rejected",
        "rerouted", "rerouted", "refused", "auto_approved", "auto_approved",
    ]  # fmt: skip
    first = found["changed"][0]
    created = (month - timedelta(days=30) + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert first == {
        "id": public_id(1),
        "created_at": created,
        "agent": "refund-bot",
        "kind": "approval",
        "title": "Escalation 1",
        "amount": "450",
        "currency": "USD",
        "change": "auto_approved",
        "actual": {
            "fate": "council",
            "council": "ai-council",
            "policy": "approvals",
            "rule": "majority · quorum 2",
            "over_budget": False,
            "reason": "policy approvals",
            "status": "approved",
            "outcome": "approved",
            "decided_by": "council",
        },
        "proposed": {
            "fate": "auto_approved",
            "council": "ai-council",
            "policy": "small-refunds",
            "rule": None,
            "over_budget": False,
            "reason": "approved by policy small-refunds within refund-bot's mandate",
        },
    }


def test_since_narrows_the_period(month: datetime, env: dict[str, str], tmp_path: Path) -> None:
    result = run("policy", "simulate", "proposed.yml", "--since", "7d", "--json", env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    found = json.loads(result.stdout)
    assert (found["since"], found["escalations"]) == ("7d", 3)
    assert found["proposed"]["auto_approved"] == {
        "count": 3,
        "amounts": [{"currency": "USD", "amount": "1000"}],
    }
    assert [each["id"] for each in found["changed"]] == [public_id(12), public_id(13)]
    hours = run("policy", "simulate", "proposed.yml", "--since", "12h", env=env, cwd=tmp_path)
    assert hours.stdout.splitlines()[0].startswith(
        "Simulating proposed.yml against the 0 escalations of the last 12h ("
    )
    assert hours.stdout.splitlines()[-1] == "No escalations in that period: nothing to compare."


def test_the_file_as_applied_changes_nothing(month: datetime, env: dict[str, str], tmp_path: Path) -> None:
    result = run("policy", "simulate", "current.yml", "--json", env=env, cwd=tmp_path)
    found = json.loads(result.stdout)
    # The month is written as intake would have left it under current.yml: replaying that file is a no-op.
    assert found["changes"]["unchanged"]["count"] == 14 and found["changed"] == []


BAD_FILES = [
    ("missing.yml", None, "council: missing.yml: cannot read: No such file or directory"),
    (
        "bad.yml",
        "councils: [\n",
        "council: bad.yml: line 2, column 1: expected the node content, but found '<stream end>'",
    ),
    (
        "bad.yml",
        PROPOSED_YML.replace("type: unanimous", "type: bogus-rule"),
        "council: bad.yml: policies[4].rule.type: unknown rule 'bogus-rule' "
        "(expected one of single, n_of_m, majority, supermajority, unanimous)",
    ),
]


@pytest.mark.parametrize(("name", "text", "message"), BAD_FILES)
def test_a_bad_file_gets_the_errors_config_apply_gives(
    env: dict[str, str], tmp_path: Path, name: str, text: str | None, message: str
) -> None:
    if text is not None:
        (tmp_path / name).write_text(text)
    result = run("policy", "simulate", name, env=env, cwd=tmp_path)
    assert (result.returncode, result.stdout, result.stderr) == (2, "", message + "\n")
    applied = run("config", "apply", name, env=env, cwd=tmp_path)
    assert (applied.returncode, applied.stderr) == (2, result.stderr)


@pytest.mark.parametrize(
    ("since", "message"),
    [
        ("30", "'30' is not a period; write a number of days or hours, for example 7d, 30d or 12h"),
        ("30m", "'30m' is not a period; write a number of days or hours, for example 7d, 30d or 12h"),
        ("7 days", "'7 days' is not a period; write a number of days or hours, for example 7d, 30d or 12h"),
        ("1d12h", "'1d12h' is not a period; write a number of days or hours, for example 7d, 30d or 12h"),
        ("0d", "'0d' is not a period: it must be longer than zero"),
        ("400d", "'400d' is too long a period: at most 366d"),
    ],
)
def test_a_bad_period_is_refused_by_argparse(
    env: dict[str, str], tmp_path: Path, since: str, message: str
) -> None:
    result = run("policy", "simulate", "proposed.yml", "--since", since, env=env, cwd=tmp_path)
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr.splitlines() == [
        "usage: council policy simulate [-h] [--since PERIOD] [--json] file",
        f"council policy simulate: error: argument --since: {message}",
    ]
