"""Signing a campaign off: undecided items follow its rule; revocations go through the grant ledger or,
for unmanaged access, through the drift register's removal; kept unmanaged access is adopted or accepted.

Unmanaged access (in AWS with no grant) has no grant to end. A revoked line is removed from AWS by a
task per line, after commit and outside any transaction (iam.reconcile.drift_actions.remove_for_review, read back and
audited `drift.removed`), and its remediation is read from the drift register. A kept line of a portal
person is adopted into the ledger when a governance admin signs off (adoption is theirs to do, and is
checked against separation of duties, iam.reconcile.drift_actions.adopt), so later campaigns review it as a grant. Any
other kept line stays unmanaged as accepted risk, with the reason on the line, and comes up again in
the next campaign until someone adopts it or maps the principal to a person.
"""

from typing import cast

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Case, F, OuterRef, Q, Subquery, When
from django.utils import timezone

from access.models import Grant
from access.services.grants import end_grant
from access.services.locking import atomic_change
from accounts.models import User
from audit.services import record
from iam.models import UnmanagedAccess
from iam.reconcile import drift_actions
from inputs.refusals import NotAllowed, Refusal, StaleState
from outbox.services import enqueue, enqueue_each
from reviews.access_rules import refuse_auditors
from reviews.models import Campaign, ReviewItem
from reviews.progress_counters import recount

REMOVE_UNMANAGED_TASK = "reviews.remove_unmanaged"
TELL_REVOKED_HOLDERS_TASK = "reviews.tell_revoked_holders"
_GONE = [UnmanagedAccess.State.REMOVED, UnmanagedAccess.State.GONE]


def sign_off(*, campaign_id: int, actor: User) -> Campaign:
    """The owner closes the campaign once both stages are done. Undecided items, in either stage, are
    kept or revoked by the campaign's rule, or escalated to the owner (who must decide them, for both
    stages, before signing off). Revoked access is removed from AWS; each item then shows its remediation.
    Those whose access was revoked are told by a task queued with the sign-off."""
    refuse_auditors(actor)
    campaign, escalated = _sign_off(campaign_id, actor)
    if escalated is not None:  # committed: the owner decides them, then signs off again
        raise StaleState(f"{escalated} undecided items were escalated to you: decide them, then sign off.")
    return campaign


@atomic_change
def _sign_off(campaign_id: int, actor) -> tuple[Campaign, int | None]:
    now = timezone.now()
    campaign = Campaign.objects.select_for_update(no_key=True).get(pk=campaign_id)
    if actor.pk != campaign.owner_id:
        raise NotAllowed("Only the campaign's owner signs it off.")
    if campaign.state != Campaign.State.ACTIVE:
        raise StaleState(f"This campaign is {campaign.get_state_display().lower()}.")
    undecided = ReviewItem.objects.filter(campaign=campaign, decision=ReviewItem.Decision.UNDECIDED)
    if campaign.undecided == Campaign.Undecided.ESCALATE and undecided.exists():
        return campaign, _escalate(campaign, undecided, actor)
    _close(campaign, undecided, actor, now)
    return campaign, None


def _escalate(campaign: Campaign, undecided, actor) -> int:
    """Hand undecided items to the owner (the owner's own access stays with its reviewer), recorded.

    The owner's word on an escalated first-stage line is final: it no longer goes on to a second stage.
    """
    count = undecided.exclude(holder=actor).update(
        reviewer=actor,
        reviewer_reason="Escalated to the owner at sign-off",
        second_reviewer=Case(When(stage=ReviewItem.Stage.FIRST, then=None), default=F("second_reviewer")),
    )
    recount(campaign.pk)
    record(actor=actor, action="campaign.escalated", obj=campaign, after={"items": count})
    return count


def _close(campaign: Campaign, undecided, actor, now) -> None:
    undecided.update(
        decision=campaign.undecided,
        automatic=True,
        decided_at=now,
        comment=f"Undecided at sign-off: the campaign's rule is to {campaign.undecided}",
    )
    recount(campaign.pk)
    lines = ReviewItem.objects.filter(campaign=campaign)
    revoked = lines.filter(decision=ReviewItem.Decision.REVOKE)
    grants = _lock_what_changes(lines, revoked, actor)
    unmanaged = _settle_unmanaged(campaign, lines, actor)
    label = f"Access review: {campaign.name}"
    for grant in grants:
        end_grant(grant, actor=actor, actor_label=None, reason=label, action="grant.review_revoked", now=now)
    revoked.update(remediation=ReviewItem.Remediation.PENDING)
    campaign.state, campaign.closed_at, campaign.signed_off_by = Campaign.State.CLOSED, now, actor
    campaign.save(update_fields=["state", "closed_at", "signed_off_by"])
    record(
        actor=actor,
        action="campaign.signed_off",
        obj=campaign,
        after={"revoked": revoked.count(), "undecided_rule": campaign.undecided, **unmanaged},
    )
    # With the sign-off, not after it in the page: no notice for a sign-off rolled back, none lost.
    enqueue(TELL_REVOKED_HOLDERS_TASK, campaign.pk)


def _lock_what_changes(lines, revoked, actor) -> list[Grant]:
    """Before anything is audited, in the lock order of docs/architecture.md: the unmanaged access to adopt,
    the people whose access changes, then the grants to end (returned), each in id order."""
    if actor.is_governance_admin:
        to_adopt = lines.filter(
            decision=ReviewItem.Decision.KEEP,
            grant__isnull=True,
            holder__isnull=False,
            unmanaged__state=UnmanagedAccess.State.OPEN,
        )
        list(
            UnmanagedAccess.objects.select_for_update(no_key=True)
            .filter(pk__in=to_adopt.values("unmanaged_id"))
            .order_by("pk")
        )
    else:
        to_adopt = lines.none()
    to_end = Grant.objects.filter(
        pk__in=revoked.filter(grant__isnull=False).values("grant_id"), desired=Grant.Desired.PRESENT
    )
    holders = Q(pk__in=to_end.values("user_id")) | Q(pk__in=to_adopt.values("holder_id"))
    list(get_user_model().objects.select_for_update(no_key=True).filter(holders).order_by("pk"))
    return list(to_end.select_for_update(no_key=True).order_by("pk"))


def _settle_unmanaged(campaign: Campaign, lines, actor) -> dict:
    """Unmanaged lines: the ledger's grant where there is one now, removal queued, adoption or accepted risk."""
    unmanaged = lines.filter(unmanaged__isnull=False, grant__isnull=True)
    # Adopted by an admin (or granted) since the snapshot: the line now follows that grant, like any other.
    now_granted = Grant.objects.filter(user_id=OuterRef("holder_id"), entitlement_id=OuterRef("entitlement_id"))
    unmanaged.filter(holder__isnull=False, unmanaged__state=UnmanagedAccess.State.ADOPTED).update(
        grant=Subquery(now_granted.values("pk")[:1])
    )
    to_remove = list(
        unmanaged.filter(decision=ReviewItem.Decision.REVOKE, unmanaged__state=UnmanagedAccess.State.OPEN).values_list(
            "unmanaged_id", flat=True
        )
    )
    enqueue_each(REMOVE_UNMANAGED_TASK, [(unmanaged_id,) for unmanaged_id in to_remove])
    kept = unmanaged.filter(decision=ReviewItem.Decision.KEEP, unmanaged__state=UnmanagedAccess.State.OPEN)
    adopted = sum(_adopt_or_accept(line, actor) for line in kept.select_related("holder"))
    return {"unmanaged_removals_queued": len(to_remove), "unmanaged_adopted": adopted}


def _adopt_or_accept(line: ReviewItem, actor) -> bool:
    """Adopt one kept unmanaged line into the ledger if the signer may; else record it as accepted risk."""
    if line.holder_id is None:
        return _accept(line, f"{line.aws_principal} is no portal person: map the principal to one, then adopt it")
    if not actor.is_governance_admin:
        return _accept(line, "Signed off by someone who is not a governance admin: adopt it on Operations")
    try:
        with transaction.atomic():  # a refusal rolls back this adoption only
            # A kept line of `unmanaged` (_settle_unmanaged): it names its unmanaged access.
            grant = drift_actions.adopt(cast(int, line.unmanaged_id), actor)
    except Refusal as exc:
        return _accept(line, f"Not adopted: {exc.message}")
    ReviewItem.objects.filter(pk=line.pk).update(grant=grant, remediation=ReviewItem.Remediation.ADOPTED)
    return True


def _accept(line: ReviewItem, why: str) -> bool:
    ReviewItem.objects.filter(pk=line.pk).update(
        remediation=ReviewItem.Remediation.ACCEPTED, remediation_note=f"Accepted risk. {why}"[:200]
    )
    return False


def refresh_remediation(campaign_id: int) -> int:
    """Bring each revoked item's remediation up to what AWS was read back to show: the grant ledger's
    sync for lines with a grant, the drift register for unmanaged access."""
    revoked = ReviewItem.objects.filter(campaign_id=campaign_id, decision=ReviewItem.Decision.REVOKE)
    done = revoked.filter(
        Q(grant__desired=Grant.Desired.ABSENT, grant__sync_state=Grant.SyncState.REVOKED)
        | Q(grant__isnull=True, unmanaged__state__in=_GONE)
    )
    failed = revoked.filter(
        Q(grant__sync_state=Grant.SyncState.FAILED)
        | Q(grant__isnull=True, unmanaged__state=UnmanagedAccess.State.ADOPTED)
        | (Q(grant__isnull=True, unmanaged__state=UnmanagedAccess.State.OPEN) & ~Q(unmanaged__last_error=""))
    )
    changed = done.exclude(remediation=ReviewItem.Remediation.DONE).update(remediation=ReviewItem.Remediation.DONE)
    changed += failed.exclude(remediation=ReviewItem.Remediation.FAILED).update(
        remediation=ReviewItem.Remediation.FAILED
    )
    return changed


def unmanaged_removals_waiting() -> list[int]:
    """Unmanaged access revoked in a signed-off campaign and still open without an error: its removal
    message was lost or its retries ran out. Safe to queue again (the removal is idempotent)."""
    return list(
        ReviewItem.objects.filter(
            campaign__state=Campaign.State.CLOSED,
            decision=ReviewItem.Decision.REVOKE,
            grant__isnull=True,
            unmanaged__state=UnmanagedAccess.State.OPEN,
            unmanaged__last_error="",
        )
        .values_list("unmanaged_id", flat=True)
        .distinct()
    )
