"""Who may change anything in a review: auditors read every campaign and change nothing."""

from accounts.roles import is_auditor
from inputs.refusals import NotAllowed


def refuse_auditors(actor) -> None:
    """Raise NotAllowed for an auditor, whatever else they are (a manager with review lines, say)."""
    if actor is not None and is_auditor(actor):
        raise NotAllowed("Auditors read review campaigns; they change nothing.")
