"""Governance: voting rules, policy matching and the agent's mandate, as pure functions over plain data.

No I/O, no ORM, no Slack (import-linter checks it). This is the package's front door.
"""

from bot.governance.ballot import CAST, Choice, Elector, Outcome, Tally, Verdict, count
from bot.governance.electorate import Snapshot, electorate_for
from bot.governance.mandate import LimitsSpec, Settlement, money, settle
from bot.governance.policy import Facts, Kind, PolicyMatch, Risk, first_match, parse_duration, parse_reminders
from bot.governance.rules import RULE_TYPES, Rule, RuleType
from bot.governance.verdict import evaluate, outcome_when_complete

__all__ = [
    "CAST",
    "RULE_TYPES",
    "Choice",
    "Elector",
    "Facts",
    "Kind",
    "LimitsSpec",
    "Outcome",
    "PolicyMatch",
    "Risk",
    "Rule",
    "RuleType",
    "Settlement",
    "Snapshot",
    "Tally",
    "Verdict",
    "count",
    "electorate_for",
    "evaluate",
    "first_match",
    "money",
    "outcome_when_complete",
    "parse_duration",
    "parse_reminders",
    "settle",
]
