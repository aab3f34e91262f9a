"""`council policy simulate`: what a proposed council.yml would have done with past escalations."""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime

from bot.council_file import load
from bot.governance import money
from bot.services import simulate as simulation
from bot.services.simulate_figures import Figure, Handling, Happened, Replayed, Simulation

CHANGE_LABELS = {
    "auto_approved": "would be auto-approved",
    "auto_rejected": "would be auto-rejected",
    "over_budget": "would hit the auto budget",
    "to_council": "would go to a council",
    "rerouted": "to another council or rule",
    "refused": "would be refused",
    "unchanged": "unchanged",
}
SIDE_LABELS = {
    "auto_approved": "auto-approved",
    "auto_rejected": "auto-rejected",
    "council": "sent to a council",
    "over_budget": "  of which over the auto budget",
    "refused": "refused",
}
DECIDED_BY = {
    "council": "by the council",
    "policy": "by policy",
    "timeout": "at the deadline",
    "owner": "by the owner",
    "admin": "by an admin",
}


async def simulate(args: argparse.Namespace) -> int:
    """Print what the proposed file would have changed over the period; exit 0 (2 for a bad file)."""
    proposed = load(args.file)
    found = await simulation.simulate(
        proposed, source=str(args.file), period=args.since, now=datetime.now(UTC)
    )
    print(json.dumps(found.model_dump(mode="json"), indent=2) if args.json else plain(found))
    return 0


def plain(found: Simulation) -> str:
    """The simulation as an admin reads it: the totals side by side, then each change."""
    count = found.escalations
    lines = [
        f"Simulating {found.file} against the {count} escalation{'' if count == 1 else 's'} of the "
        f"last {found.since} ({_when(found.start)} to {_when(found.end)} UTC).",
        "Read only: nothing was changed, posted or sent.",
    ]
    if not count:
        return "\n".join([*lines, "", "No escalations in that period: nothing to compare."])
    lines += ["", *_sides(found)]
    changed = count - found.changes.unchanged.count
    lines += ["", f"What would change: {changed} of {count} escalation{'' if count == 1 else 's'}"]
    rows = [(label, getattr(found.changes, name)) for name, label in CHANGE_LABELS.items()]
    width = max(len(label) for label, _ in rows)
    lines += [f"  {label:<{width}}  {_figure(figure)}".rstrip() for label, figure in rows]
    if found.changed:
        lines += ["", "Each change, oldest first:"]
        for each in found.changed:
            lines += _change(each)
    return "\n".join(lines)


def _sides(found: Simulation) -> list[str]:
    """The table of how the period was handled, and how the proposal would have handled it."""
    rows = [
        (label, _figure(getattr(found.actual, name)), _figure(getattr(found.proposed, name)))
        for name, label in SIDE_LABELS.items()
    ]
    first = max(len(label) for label, _, _ in rows)
    middle = max(len("actually"), *(len(actual) for _, actual, _ in rows))
    header = f"{'':<{first}}  {'actually':<{middle}}  with {found.file}"
    return [header] + [
        f"{label:<{first}}  {actual:<{middle}}  {proposed}".rstrip() for label, actual, proposed in rows
    ]


def _figure(figure: Figure) -> str:
    """`3  $1,250 + €80`: the count, then the amounts per currency."""
    amounts = " + ".join(money(total.amount, total.currency) for total in figure.amounts)
    return f"{figure.count:>3}  {amounts}".rstrip()


def _change(each: Replayed) -> list[str]:
    amount = money(each.amount, each.currency) if each.amount is not None else "no amount"
    return [
        f"  {_when(each.created_at)}  {each.id}  {each.agent}  {each.kind}  {amount}",
        f"    was:       {_handled(each.actual)}",
        f"    would be:  {_handled(each.proposed)}",
    ]


def _handled(handling: Handling) -> str:
    """Say how an escalation is handled: `to ai-council by policy refunds (majority), approved …`."""
    if handling.fate == "auto_approved":
        return f"auto-approved: {handling.reason}"
    if handling.fate == "auto_rejected":
        return f"auto-rejected: {handling.reason}"
    if handling.fate == "refused":
        return f"refused: {handling.reason}"
    route = f"policy {handling.policy}" if handling.policy else "the default route"
    said = f"to {handling.council} by {route}" + (f" ({handling.rule})" if handling.rule else "")
    if handling.over_budget:
        said += ", over the auto budget"
    if isinstance(handling, Happened):
        by = DECIDED_BY.get(handling.decided_by or "", "")
        said += f", {handling.status}" + (f" {by}" if by else "")
    return said


def _when(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M")
