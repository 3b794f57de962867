"""Signing a campaign off: undecided items follow its rule; revocations go through the grant ledger."""

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from access.errors import NotAllowed, StaleState
from access.models import Grant
from access.services.grants import end_grant
from audit.services import record
from reviews.models import Campaign, ReviewItem


def sign_off(*, campaign_id: int, actor) -> Campaign:
    """The owner closes the campaign. Undecided items are kept or revoked by the campaign's rule, or
    escalated to the owner (who must decide them before signing off). Revoked access is set
    desired-absent and removed from AWS by the sync engine; each item then shows its remediation."""
    now = timezone.now()
    with transaction.atomic():
        campaign = Campaign.objects.select_for_update().get(pk=campaign_id)
        if actor.pk != campaign.owner_id:
            raise NotAllowed("Only the campaign's owner signs it off.")
        if campaign.state != Campaign.State.ACTIVE:
            raise StaleState(f"This campaign is {campaign.get_state_display().lower()}.")
        undecided = ReviewItem.objects.filter(campaign=campaign, decision=ReviewItem.Decision.UNDECIDED)
        escalated = None
        if campaign.undecided == Campaign.Undecided.ESCALATE and undecided.exists():
            escalated = _escalate(campaign, undecided, actor)
        else:
            _close(campaign, undecided, actor, now)
    if escalated is not None:  # committed: the owner decides them, then signs off again
        raise StaleState(f"{escalated} undecided items were escalated to you: decide them, then sign off.")
    return campaign


def _escalate(campaign: Campaign, undecided, actor) -> int:
    """Hand undecided items to the owner (the owner's own access stays with its reviewer), recorded."""
    count = undecided.exclude(holder=actor).update(reviewer=actor, reviewer_reason="Escalated to the owner at sign-off")
    record(actor=actor, action="campaign.escalated", obj=campaign, after={"items": count})
    return count


def _close(campaign: Campaign, undecided, actor, now) -> None:
    undecided.update(
        decision=campaign.undecided,
        automatic=True,
        decided_at=now,
        comment=f"Undecided at sign-off: the campaign's rule is to {campaign.undecided}",
    )
    revoked = ReviewItem.objects.filter(campaign=campaign, decision=ReviewItem.Decision.REVOKE)
    label = f"Access review: {campaign.name}"
    for grant in Grant.objects.select_for_update().filter(
        pk__in=revoked.values("grant_id"), desired=Grant.Desired.PRESENT
    ):
        end_grant(grant, actor=actor, actor_label=None, reason=label, action="grant.review_revoked", now=now)
    revoked.update(remediation=ReviewItem.Remediation.PENDING)
    campaign.state, campaign.closed_at, campaign.signed_off_by = Campaign.State.CLOSED, now, actor
    campaign.save(update_fields=["state", "closed_at", "signed_off_by"])
    record(
        actor=actor,
        action="campaign.signed_off",
        obj=campaign,
        after={"revoked": revoked.count(), "undecided_rule": campaign.undecided},
    )


def refresh_remediation(campaign_id: int) -> int:
    """Bring each revoked item's remediation up to what the grant ledger reads back from AWS."""
    revoked = ReviewItem.objects.filter(campaign_id=campaign_id, decision=ReviewItem.Decision.REVOKE)
    done = revoked.filter(grant__desired=Grant.Desired.ABSENT, grant__sync_state=Grant.SyncState.REVOKED)
    failed = revoked.filter(grant__sync_state=Grant.SyncState.FAILED)
    changed = done.exclude(remediation=ReviewItem.Remediation.DONE).update(remediation=ReviewItem.Remediation.DONE)
    changed += failed.exclude(Q(remediation=ReviewItem.Remediation.FAILED)).update(
        remediation=ReviewItem.Remediation.FAILED
    )
    return changed
