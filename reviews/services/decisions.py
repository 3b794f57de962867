"""Review decisions: keep or revoke, one item or ten thousand in one statement; reassigning."""

from django.db import transaction
from django.db.models import F, Value
from django.db.models.functions import Concat
from django.utils import timezone

from access.errors import InvalidInput, NotAllowed, StaleState
from audit.services import record
from reviews.models import Campaign, ReviewItem

MAX_BULK = 10_000


def decide(*, campaign_id: int, item_ids: list[int], actor, decision: str, comment: str = "") -> int:
    """Record `decision` on the actor's items, changing a previous decision while the campaign is open.

    One UPDATE for the whole selection. Refused, changing nothing: a revoke without a comment, an
    item that is not the actor's to review, a campaign that is not active.
    """
    comment = (comment or "").strip()
    if decision not in (ReviewItem.Decision.KEEP, ReviewItem.Decision.REVOKE):
        raise InvalidInput("Choose keep or revoke.", field="decision")
    if decision == ReviewItem.Decision.REVOKE and not comment:
        raise InvalidInput("Say why the access should be revoked.", field="comment")
    ids = sorted(set(item_ids))
    if not ids or len(ids) > MAX_BULK:
        raise InvalidInput(f"Select between 1 and {MAX_BULK} items.")
    with transaction.atomic():
        campaign = Campaign.objects.select_for_update().filter(pk=campaign_id).first()
        if campaign is None:
            raise NotAllowed("That campaign does not exist.")
        if campaign.state != Campaign.State.ACTIVE:
            raise StaleState(f"The campaign is {campaign.get_state_display().lower()}: decisions can no longer change.")
        mine = ReviewItem.objects.filter(campaign=campaign, pk__in=ids, reviewer=actor)
        changed = mine.update(
            decision=decision, comment=comment, decided_by=actor, decided_at=timezone.now(), automatic=False
        )
        if changed != len(ids):
            raise NotAllowed("Some of the selected items are not yours to review; nothing was recorded.")
        record(
            actor=actor,
            action=f"review.{decision}",
            obj=campaign,
            after={"items": ids if len(ids) <= 100 else len(ids), "comment": comment},
        )
    return changed


def reassign(*, item_id: int, actor, to, reason: str) -> ReviewItem:
    """The reviewer (or the campaign owner) hands an item to someone else, with a reason; never to its holder."""
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput("Say why you reassign this item.", field="reason")
    with transaction.atomic():
        item = ReviewItem.objects.select_for_update().select_related("campaign").filter(pk=item_id).first()
        if item is None or actor.pk not in (item.reviewer_id, item.campaign.owner_id):
            raise NotAllowed("That item is not yours to reassign.")
        if item.campaign.state != Campaign.State.ACTIVE:
            raise StaleState("The campaign is not active.")
        if to.pk == item.holder_id:
            raise InvalidInput("Nobody reviews their own access: choose someone else.", field="to")
        before = {"reviewer": item.reviewer_id}
        item.reviewer, item.reviewer_reason = to, f"Reassigned by {actor}: {reason}"[:200]
        item.save(update_fields=["reviewer", "reviewer_reason"])
        record(
            actor=actor,
            action="review.reassigned",
            obj=item,
            before=before,
            after={"reviewer": to.pk, "reason": reason},
        )
    return item


def accept_recommendations(*, campaign_id: int, item_ids: list[int], actor) -> int:
    """Decide the selected items as their recommendation says (keep or revoke), each with its reason
    as the comment; items without a recommendation are left alone. Two statements, whatever the count."""
    ids = sorted(set(item_ids))
    if len(ids) > MAX_BULK:
        raise InvalidInput(f"Select at most {MAX_BULK} items.")
    with transaction.atomic():
        campaign = Campaign.objects.select_for_update().filter(pk=campaign_id).first()
        if campaign is None or campaign.state != Campaign.State.ACTIVE:
            raise StaleState("The campaign is not active: decisions can no longer change.")
        mine = ReviewItem.objects.filter(campaign=campaign, pk__in=ids, reviewer=actor)
        if mine.count() != len(ids):
            raise NotAllowed("Some of the selected items are not yours to review; nothing was recorded.")
        now, changed = timezone.now(), 0
        for decision in (ReviewItem.Decision.KEEP, ReviewItem.Decision.REVOKE):
            changed += mine.filter(recommendation=decision).update(
                decision=decision,
                decided_by=actor,
                decided_at=now,
                automatic=False,
                comment=Concat(Value("Recommendation accepted: "), F("recommendation_reason")),
            )
        record(
            actor=actor,
            action="review.recommendations_accepted",
            obj=campaign,
            after={"items": ids if len(ids) <= 100 else len(ids), "decided": changed},
        )
    return changed
