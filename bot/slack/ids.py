"""Every action_id, block_id and callback_id Council's Slack surfaces use, in one place."""

APPROVE = "council_vote_approve"
REJECT = "council_vote_reject"
ABSTAIN = "council_vote_abstain"
RECUSE = "council_vote_recuse"
APPROVE_WITH_CONDITIONS = "council_vote_conditions"
TAKE_OWNERSHIP = "council_take_ownership"
RESOLVE = "council_resolve"

VOTE_ACTIONS_BLOCK = "council_vote_actions"

REJECT_MODAL = "council_reject_modal"
REASON_BLOCK = "council_reason"
REASON_INPUT = "council_reason_input"

CONDITIONS_MODAL = "council_conditions_modal"
CONDITIONS_BLOCK = "council_conditions"
CONDITIONS_INPUT = "council_conditions_input"
AMOUNT_BLOCK = "council_amount"
AMOUNT_INPUT = "council_amount_input"

RESOLVE_MODAL = "council_resolve_modal"
NOTES_BLOCK = "council_notes"
NOTES_INPUT = "council_notes_input"


def vote_value(public_id: str, version: int) -> str:
    """A vote button's value: the escalation and the version its voter is looking at."""
    return f"{public_id}:{version}"


def parse_vote_value(value: str) -> tuple[str, int | None]:
    """Split a vote button's value; a value without a version (an older message) gives None."""
    public_id, _, version = value.partition(":")
    return public_id, int(version) if version.isdigit() and version.isascii() else None


# A storm's grouped message and what opens from it.
STORM_ACTIONS_BLOCK = "council_storm_actions"
STORM_REJECT_ALL = "council_storm_reject_all"
STORM_PAUSE = "council_storm_pause"
STORM_REVIEW = "council_storm_review"
STORM_REJECT_MODAL = "council_storm_reject_modal"
STORM_REVIEW_MODAL = "council_storm_review_modal"
REVIEW_APPROVE = "council_review_approve"
REVIEW_REJECT = "council_review_reject"
REVIEW_ABSTAIN = "council_review_abstain"
REVIEW_PREVIOUS = "council_review_previous"
REVIEW_NEXT = "council_review_next"
REVIEW_PAGER_BLOCK = "council_review_pager"


def review_block(public_id: str) -> str:
    """The block_id of one escalation's vote buttons on a storm's review page."""
    return f"council_review_{public_id}"


def review_ref(storm_id: int, page: int) -> str:
    """A review page's private_metadata: which storm, which page."""
    return f"{storm_id}:{page}"


def parse_review_ref(value: str) -> tuple[int, int]:
    """Split a review page's private_metadata (or a storm button's value, page 0)."""
    storm, _, page = value.partition(":")
    return int(storm), int(page) if page.isdigit() and page.isascii() else 0


# The weekly pulse DM: one button per score, each with its own action_id (Slack wants them unique).
PULSE_BLOCK = "council_pulse"
PULSE_ANSWERS = tuple(f"council_pulse_{score}" for score in range(1, 6))


def pulse_value(council: str, week: str, score: int) -> str:
    """A pulse button's value: which week, which score, which council (council names may hold ':')."""
    return f"{week}:{score}:{council}"


def parse_pulse_value(value: str) -> tuple[str, str, int]:
    """Split a pulse button's value into (council, week, score); ValueError for anything else."""
    week, score, council = value.split(":", 2)
    if not (score.isascii() and score.isdigit()) or not council:
        raise ValueError(f"not a pulse answer: {value[:80]!r}")
    return council, week, int(score)


# The App Home tab: each escalation's vote buttons in a block of their own, an admin's pause and
# resume per agent, and a mark on a vote modal opened from Home (Slack's submission does not say).
HOME_PAUSE_AGENT = "council_home_pause_agent"
HOME_RESUME_AGENT = "council_home_resume_agent"
FROM_HOME = "|home"


def home_vote_block(public_id: str) -> str:
    """The block_id of one escalation's vote buttons on the Home tab (block_ids are unique per view)."""
    return f"council_home_vote_{public_id}"


def home_agent_block(name: str) -> str:
    """The block_id of one agent's line, with its pause or resume button, on an admin's Home tab."""
    return f"council_home_agent_{name}"


def modal_ref(value: str, *, from_home: bool) -> str:
    """A vote modal's private_metadata: the vote value, marked when the modal opened from Home."""
    return value + FROM_HOME if from_home else value


def parse_modal_ref(ref: str) -> tuple[str, bool]:
    """Split a vote modal's private_metadata into the vote value and whether it opened from Home."""
    return ref.removesuffix(FROM_HOME), ref.endswith(FROM_HOME)
