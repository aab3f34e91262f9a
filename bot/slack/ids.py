"""Every action_id, block_id and callback_id Council's Slack surfaces use, in one place."""

APPROVE = "council_vote_approve"
REJECT = "council_vote_reject"
ABSTAIN = "council_vote_abstain"
RECUSE = "council_vote_recuse"
APPROVE_WITH_CONDITIONS = "council_vote_conditions"
TAKE_OWNERSHIP = "council_take_ownership"
RESOLVE = "council_resolve"
OPEN_LINK = "council_open_link"

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
