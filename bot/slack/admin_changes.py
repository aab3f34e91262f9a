"""What `/council` answers after a change: seats, new credentials, limits, the outbox.

Pure: takes what the services return. Names and reasons people typed are escaped here.
"""

from __future__ import annotations

from datetime import UTC, datetime

from bot.governance import LimitsSpec
from bot.services.agents import Credentials
from bot.services.deliveries import DeliveryLine
from bot.services.membership import SeatChange
from bot.slack.admin_views import fit
from bot.slack.text import escape, mention, safe, utc


def utc_now() -> datetime:
    return datetime.now(UTC)


def credentials(creds: Credentials, *, created: bool) -> str:
    """The new key and secret, for the admin's eyes only: this answer is the only time they show."""
    done = (
        f"Created agent *{escape(creds.name)}*."
        if created
        else f"New credentials for *{escape(creds.name)}*."
    )
    if created or creds.old_valid_until is None:
        old = ""
    elif creds.old_valid_until <= utc_now():
        old = " The old key and signing secret were revoked at once."
    else:
        old = (
            f" The old key and signing secret keep working until {utc(creds.old_valid_until)}, so the agent "
            "can switch without missing a request or a callback; after that they are refused."
        )
    return (
        f"{done}{old}\n"
        f"API key: `{creds.api_key}`\n"
        f"Callback signing secret: `{creds.signing_secret}`\n"
        "Only you can see this, and only now: Council keeps a hash of the key and cannot show it again. "
        "Put both in the agent's secret store (`Authorization: Bearer <key>`)."
    )


def limits_set(name: str, limits: LimitsSpec) -> str:
    """The agent's limits after a change, each in words."""
    shown = limits.model_dump(mode="json", exclude_none=True)
    parts = []
    for key in ("max_amount", "auto_budget_24h", "rate_per_minute", "currency"):
        value = shown.get(key)
        if isinstance(value, dict):
            value = f"{value['amount']} {value['currency']}"
        parts.append(f"{key} {escape(str(value)) if value is not None else 'none'}")
    return f"Limits of *{escape(name)}* now: " + ", ".join(parts) + ". The channel has been told."


def seat_changed(label: str, seat: SeatChange) -> str:
    """What a change from `/council members …` did, in one line."""
    where = f"on *{escape(seat.council)}*"
    if label == "Removed":
        return (
            f"Removed {mention(seat.user)} from *{escape(seat.council)}* (past votes are kept). "
            "The channel has been told."
        )
    if label == "Away":
        until = seat.away_until.isoformat() if seat.away_until else "?"
        delegate = mention(seat.delegate) if seat.delegate else "nobody"
        return (
            f"{mention(seat.user)} is away {where} until {until} (inclusive): {delegate} is asked in their "
            f"seat ({safe(seat.function, 64)}) meanwhile. The channel has been told."
        )
    if label == "Back":
        return f"{mention(seat.user)} is back {where}: asks go to them again. The channel has been told."
    return (
        f"Seated {mention(seat.user)} {where} — {safe(seat.function, 64)}, {escape(seat.role)}. "
        "It applies to escalations opened from now on. The channel has been told."
    )


def outbox(counts: dict[str, int], dead: list[DeliveryLine]) -> str:
    """Deliveries by state, then the latest dead ones with their last error."""
    lines = [
        f"Outbox: *{counts.get('pending', 0):,}* waiting, *{counts.get('dead', 0):,}* dead, "
        f"{counts.get('done', 0):,} delivered."
    ]
    if not dead:
        lines.append("Nothing is dead: every delivery went or is on its way.")
    else:
        lines.append(
            "The latest dead deliveries (send one again with `/council outbox retry ID`, or `retry all`):"
        )
    for row in dead:
        about = f" for `{escape(row.escalation)}`" if row.escalation else ""
        error = safe(row.last_error or "no error recorded", 200)
        lines.append(
            f"• *{row.id}* {escape(row.kind)} to {row.target}{about}, {row.attempts} attempts: {error}"
        )
    return fit(lines)


def retried(row: DeliveryLine) -> str:
    return f"Outbox row *{row.id}* ({escape(row.kind)}) is queued again and goes out now."


def retried_all(count: int) -> str:
    if count == 0:
        return "Nothing is dead: there was nothing to retry."
    if count == 1:
        return "*1* dead delivery is queued again and goes out now."
    return f"*{count:,}* dead deliveries are queued again and go out now."
