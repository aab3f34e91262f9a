"""The worked examples of docs/governance.md, replayed vote by vote.

EXAMPLES mirrors the doc: each example renders to the text block the doc shows, and
test_the_doc_shows_exactly_these_examples fails when the two drift apart.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pytest

from bot.governance import Choice, Elector, Rule, evaluate
from bot.governance.electorate import electorate_for

DOC = Path(__file__).parents[3] / "docs" / "governance.md"

CHAIR = Elector("U0PEOPLE1", "people", "chair")
TECH = Elector("U0TECH001", "technology")
FIN = Elector("U0FIN0001", "finance")
LEGAL = Elector("U0LEGAL01", "legal")
TECH2 = Elector("U0TECH002", "technology")
OWNER = Elector("U0OWNER01", "technology")
FOUR = (CHAIR, TECH, FIN, LEGAL)

A, R, AB, RE = Choice.APPROVE, Choice.REJECT, Choice.ABSTAIN, Choice.RECUSE
VERB = {A: "approves", R: "rejects", AB: "abstains", RE: "recuses"}


@dataclass(frozen=True)
class Example:
    """A worked example: who may vote, the votes in order, and what each vote leaves."""

    title: str
    rule: Rule
    members: tuple[Elector, ...]
    steps: tuple[tuple[Elector, Choice, str], ...]  # "open", or the reason it closed with
    owner: str = OWNER.user

    def block(self) -> str:
        """Render the example as the doc's text block."""
        electorate = electorate_for(self.members, self.rule, self.owner)
        lines = [f"rule:       {yaml_of(self.rule)}  ({self.rule.describe()})"]
        if electorate != self.members:
            lines.append(f"members:    {people(self.members)}")
            lines.append(f"owner:      {self.owner}")
        lines.append(f"electorate: {people(electorate)}")
        lines += [f"{elector.user} {VERB[choice]} → {after}" for elector, choice, after in self.steps]
        return "\n".join(lines)


def people(electors: tuple[Elector, ...]) -> str:
    """List electors as 'U0PEOPLE1 (people, chair), U0TECH001 (technology)'."""
    return ", ".join(
        f"{e.user} ({e.function}{', ' + e.role if e.role != 'member' else ''})" for e in electors
    )


def yaml_of(rule: Rule) -> str:
    """Write the rule as council.yml would: a flow mapping of what differs from the defaults."""
    given = rule.model_dump(exclude_defaults=True)
    parts = [f"type: {rule.type}"]
    for key, value in given.items():
        if key == "type":
            continue
        if isinstance(value, tuple):
            value = "[" + ", ".join(value) + "]"
        parts.append(f"{key}: {str(value).lower() if isinstance(value, bool) else value}")
    return "{" + ", ".join(parts) + "}"


EXAMPLES = (
    Example(
        "single",
        Rule(type="single"),
        (CHAIR, TECH),
        ((TECH, AB, "open"), (CHAIR, A, "approved by U0PEOPLE1")),
    ),
    Example(
        "n_of_m passes",
        Rule(type="n_of_m", n=2),
        FOUR,
        ((TECH, R, "open"), (FIN, A, "open"), (LEGAL, A, "approved with 2 approvals (2 needed)")),
    ),
    Example(
        "n_of_m fails",
        Rule(type="n_of_m", n=3),
        FOUR,
        ((FIN, R, "open"), (LEGAL, R, "rejected: 3 approvals needed, at most 2 possible")),
    ),
    Example(
        "majority",
        Rule(type="majority"),
        (*FOUR, TECH2),
        (
            (TECH, A, "open"),
            (FIN, R, "open"),
            (LEGAL, A, "open"),
            (TECH2, A, "approved by majority (3–1)"),
        ),
    ),
    Example(
        "majority with a changed vote",
        Rule(type="majority"),
        (CHAIR, TECH, FIN),
        ((TECH, A, "open"), (FIN, R, "open"), (FIN, A, "approved by majority (2–0)")),
    ),
    Example(
        "tie",
        Rule(type="majority"),
        FOUR,
        (
            (TECH, A, "open"),
            (FIN, R, "open"),
            (LEGAL, A, "open"),
            (CHAIR, R, "rejected: tie (2–2) does not pass"),
        ),
    ),
    Example(
        "supermajority",
        Rule(type="supermajority"),
        FOUR,
        (
            (TECH, A, "open"),
            (FIN, R, "open"),
            (LEGAL, A, "open"),
            (CHAIR, AB, "approved by two-thirds majority (2–1)"),
        ),
    ),
    Example(
        "unanimous",
        Rule(type="unanimous"),
        (CHAIR, TECH, FIN),
        ((TECH, A, "open"), (FIN, AB, "rejected: not unanimous (1–0, 1 abstained)")),
    ),
    Example(
        "unanimous with a recusal",
        Rule(type="unanimous"),
        (CHAIR, TECH, FIN),
        ((TECH, A, "open"), (FIN, RE, "open"), (CHAIR, A, "approved unanimously (2–0)")),
    ),
    Example(
        "quorum met",
        Rule(type="majority", quorum=4),
        (*FOUR, TECH2),
        (
            (TECH, A, "open"),
            (FIN, A, "open"),
            (LEGAL, A, "open"),
            (TECH2, A, "approved by majority (4–0)"),
        ),
    ),
    Example(
        "quorum out of reach",
        Rule(type="majority", quorum=4),
        (*FOUR, TECH2),
        (
            (TECH, A, "open"),
            (FIN, RE, "open"),
            (LEGAL, RE, "rejected: quorum out of reach (at most 3 of 4 votes)"),
        ),
    ),
    Example(
        "require_functions",
        Rule(type="majority", require_functions=("legal",)),
        FOUR,
        (
            (TECH, A, "open"),
            (FIN, A, "open"),
            (CHAIR, A, "open"),
            (LEGAL, RE, "rejected: no vote from legal"),
        ),
    ),
    Example(
        "veto",
        Rule(type="majority", veto=("chair",)),
        FOUR,
        (
            (TECH, A, "open"),
            (FIN, A, "open"),
            (LEGAL, A, "open"),
            (CHAIR, R, "rejected: chair veto by U0PEOPLE1"),
        ),
    ),
    Example(
        "exclude_owner",
        Rule(type="single", exclude_owner=True),
        (OWNER, CHAIR),
        ((OWNER, A, "open"), (CHAIR, R, "rejected by U0PEOPLE1")),
    ),
)


@pytest.mark.parametrize("example", EXAMPLES, ids=[e.title for e in EXAMPLES])
def test_each_vote_leaves_what_the_doc_says(example: Example) -> None:
    electorate = electorate_for(example.members, example.rule, example.owner)
    votes: dict[str, Choice] = {}
    for elector, choice, after in example.steps:
        votes.pop(elector.user, None)  # a changed vote counts as cast now
        votes[elector.user] = choice
        verdict = evaluate(example.rule, electorate, votes)
        assert ("open" if not verdict.decided else verdict.reason) == after
        if verdict.decided:
            assert verdict.reason.startswith(verdict.outcome or "")


def test_every_example_closes_on_its_last_vote() -> None:
    for example in EXAMPLES:
        assert [after == "open" for *_, after in example.steps][-1] is False, example.title
        assert all(after == "open" for *_, after in example.steps[:-1]), example.title


def test_the_doc_shows_exactly_these_examples() -> None:
    doc = DOC.read_text(encoding="utf-8")
    blocks = re.findall(r"```text\n(rule: .*?)\n```", doc, flags=re.DOTALL)
    assert blocks == [example.block() for example in EXAMPLES]
