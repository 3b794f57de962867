"""Review decisions: keep or revoke, one item or ten thousand in one statement per stage; reassigning.

With a second stage, a line its first reviewer keeps moves on to its second reviewer (an owner of the
entitlement) in the same statement that records the keep: the first decision is copied into the
line's `first_*` fields and the line waits, undecided, for the owner. A first-stage revoke ends the
line: taking access away needs no second opinion, and the sooner it is gone the better.
"""

from django.db import transaction
from django.db.models import F, Q, Value
from django.db.models.functions import Concat
from django.utils import timezone

from access.services.locking import atomic_change
from accounts.models import User
from audit.services import record
from inputs.refusals import InvalidInput, NotAllowed, NotFound, StaleState
from reviews.access_rules import refuse_auditors
from reviews.models import Campaign, ReviewItem
from reviews.progress_counters import moving

MAX_BULK = 10_000
AUDITED_IDS = 100  # larger selections are audited by their count
# A first-stage line that a keep hands on (launch leaves `second_reviewer` empty for one-stage lines).
HANDED_ON_BY_KEEP = Q(stage=ReviewItem.Stage.FIRST, second_reviewer__isnull=False)


@atomic_change
def decide(*, campaign_id: int, item_ids: list[int], actor: User, decision: str, comment: str = "") -> int:
    """Record `decision` on the actor's items, changing a previous decision while the campaign is open.

    One UPDATE for the whole selection (two when a keep hands first-stage lines on to the second
    stage). Refused, changing nothing: a revoke without a comment, an item that is not the actor's
    to review, a campaign that is not active, an auditor.
    """
    refuse_auditors(actor)
    comment = (comment or "").strip()
    if decision not in (ReviewItem.Decision.KEEP, ReviewItem.Decision.REVOKE):
        raise InvalidInput("Choose keep or revoke.", field="decision")
    if decision == ReviewItem.Decision.REVOKE and not comment:
        raise InvalidInput("Say why the access should be revoked.", field="comment")
    ids = sorted(set(item_ids))
    if not ids or len(ids) > MAX_BULK:
        raise InvalidInput(f"Select between 1 and {MAX_BULK} items.")
    with transaction.atomic():
        campaign = _active(campaign_id)
        mine = ReviewItem.objects.filter(campaign=campaign, pk__in=ids, reviewer=actor)
        with moving(campaign.pk, ids):
            changed, handed_on = _record(
                campaign, mine, actor=actor, decision=decision, comment=Value(comment), now=timezone.now()
            )
        if changed != len(ids):
            raise NotAllowed("Some of the selected items are not yours to review; nothing was recorded.")
        record(
            actor=actor,
            action=f"review.{decision}",
            obj=campaign,
            after={
                "items": _audited(ids),
                "lines": _lines(ids),
                "comment": comment,
                "handed_to_second_stage": handed_on,
            },
        )
    return changed


@atomic_change
def accept_recommendations(*, campaign_id: int, item_ids: list[int], actor: User) -> int:
    """Decide the selected items as their recommendation says (keep or revoke), each with its reason
    as the comment; items without a recommendation are left alone. A statement per decision (and one
    more for keeps handed on to the second stage), whatever the count."""
    refuse_auditors(actor)
    ids = sorted(set(item_ids))
    if len(ids) > MAX_BULK:
        raise InvalidInput(f"Select at most {MAX_BULK} items.")
    with transaction.atomic():
        campaign = _active(campaign_id)
        mine = ReviewItem.objects.filter(campaign=campaign, pk__in=ids, reviewer=actor)
        if mine.count() != len(ids):
            raise NotAllowed("Some of the selected items are not yours to review; nothing was recorded.")
        now, changed, handed_on = timezone.now(), 0, 0
        because = Concat(Value("Recommendation accepted: "), F("recommendation_reason"))
        with moving(campaign.pk, ids):
            for decision in (ReviewItem.Decision.KEEP, ReviewItem.Decision.REVOKE):
                done, moved = _record(
                    campaign,
                    mine.filter(recommendation=decision),
                    actor=actor,
                    decision=decision,
                    comment=because,
                    now=now,
                )
                changed, handed_on = changed + done, handed_on + moved
        record(
            actor=actor,
            action="review.recommendations_accepted",
            obj=campaign,
            after={
                "items": _audited(ids),
                "lines": _lines(ids),
                "decided": changed,
                "handed_to_second_stage": handed_on,
            },
        )
    return changed


def _active(campaign_id: int) -> Campaign:
    campaign = Campaign.objects.select_for_update(no_key=True).filter(pk=campaign_id).first()
    if campaign is None:
        raise NotFound("That campaign does not exist.")
    if campaign.state != Campaign.State.ACTIVE:
        raise StaleState(f"The campaign is {campaign.get_state_display().lower()}: decisions can no longer change.")
    return campaign


def _record(campaign: Campaign, items, *, actor, decision: str, comment, now) -> tuple[int, int]:
    """Decide `items` in set-based UPDATEs; returns (lines decided, of which handed on to the second stage).

    The lines that stay with this decision are updated first: a line handed on by the second
    statement could land with the same person, and must then wait for them rather than be decided.
    """
    if not campaign.second_stage or decision != ReviewItem.Decision.KEEP:
        return _final(items, actor=actor, decision=decision, comment=comment, now=now), 0
    kept = _final(items.exclude(HANDED_ON_BY_KEEP), actor=actor, decision=decision, comment=comment, now=now)
    handed_on = items.filter(HANDED_ON_BY_KEEP).update(
        first_decision=ReviewItem.Decision.KEEP,
        first_comment=comment,
        first_decided_by=actor,
        first_decided_at=now,
        first_reviewer_reason=F("reviewer_reason"),
        first_recommendation=F("recommendation"),
        stage=ReviewItem.Stage.OWNER,
        reviewer=F("second_reviewer"),
        reviewer_reason=F("second_reviewer_reason"),
        decision=ReviewItem.Decision.UNDECIDED,
        comment="",
        decided_by=None,
        decided_at=None,
        automatic=False,
    )
    return kept + handed_on, handed_on


def _final(items, *, actor, decision: str, comment, now) -> int:
    return items.update(decision=decision, comment=comment, decided_by=actor, decided_at=now, automatic=False)


def _audited(ids: list[int]) -> list[int] | int:
    return ids if len(ids) <= AUDITED_IDS else len(ids)


def _lines(ids: list[int]) -> list[dict] | None:
    """Whose access each audited line is (holder and entitlement ids), so the event names the people
    and entitlements decided without the lines (one indexed read of at most AUDITED_IDS rows)."""
    if len(ids) > AUDITED_IDS:
        return None
    rows = ReviewItem.objects.filter(pk__in=ids).order_by("pk").values_list("pk", "holder_id", "entitlement_id")
    return [{"item": pk, "holder": holder, "entitlement": entitlement} for pk, holder, entitlement in rows]


@atomic_change
def reassign(*, item_id: int, actor: User, to: User | None, reason: str) -> ReviewItem:
    """The reviewer (or the campaign owner) hands an item to someone else, with a reason; never to its holder.

    `to` None (no active person has the address given) is refused only once the actor may reassign
    the item, so the refusal tells nobody else who is in the portal."""
    refuse_auditors(actor)
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput("Say why you reassign this item.", field="reason")
    with transaction.atomic():
        # The campaign first, then the line, as decisions and sign-off do (docs/architecture.md, locks).
        campaign_id = ReviewItem.objects.filter(pk=item_id).values_list("campaign_id", flat=True).first()
        if campaign_id is not None:  # a missing line has no campaign to lock: it is refused below
            Campaign.objects.select_for_update(no_key=True).filter(pk=campaign_id).first()
        item = ReviewItem.objects.select_for_update(of=("self",)).select_related("campaign").filter(pk=item_id).first()
        if item is None or actor.pk not in (item.reviewer_id, item.campaign.owner_id):
            raise NotFound("That item does not exist.")  # as for a missing one: ids tell nothing
        if item.campaign.state != Campaign.State.ACTIVE:
            raise StaleState("The campaign is not active.")
        if to is None:
            raise InvalidInput("Nobody active in the portal has that email address.", field="to")
        if to.pk == item.holder_id:
            raise InvalidInput("Nobody reviews their own access: choose someone else.", field="to")
        before = {"reviewer": item.reviewer_id}
        with moving(item.campaign_id, [item.pk]):
            item.reviewer, item.reviewer_reason = to, f"Reassigned by {actor}: {reason}"[:200]
            item.save(update_fields=["reviewer", "reviewer_reason"])
        record(
            actor=actor,
            action="review.reassigned",
            obj=item,
            before=before,
            after={"reviewer": to.pk, "reason": reason, "stage": item.stage},
        )
    return item
