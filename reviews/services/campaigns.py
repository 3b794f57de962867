"""Defining a campaign and asking for its launch: the portal's pages, the API and the admin call these.

A campaign is defined while it is a draft; what it reviewed is fixed at launch. The launch itself runs
in a worker (it reconciles the accounts in scope first): `request_launch` refuses up front what cannot
succeed, with the reason, and `record_launch_failure` keeps why a launch failed in the worker on the
campaign, tells its owner and audits it.
"""

from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from accounts.models import User
from audit.services import record
from inputs.refusals import InvalidInput, NotAllowed, StaleState
from outbox.services import enqueue
from reviews import notices
from reviews.access_rules import refuse_auditors
from reviews.models import Campaign
from reviews.services.launch import check_reviewers
from reviews.services.repeats import add_months

# The fields a draft's page sets, and the many-to-many ones (given as lists of ids or objects).
FIELDS = [
    "name",
    "due_at",
    "reviewer_type",
    "second_stage",
    "fallback_reviewer",
    "kinds",
    "risks",
    "departments",
    "undecided",
    "remind_days_before",
    "escalate_days_before",
    "repeat_months",
    "review_days",
    "next_run_at",
]
MANY = ["accounts", "entitlements", "named_reviewers"]


def _governance_admin(actor) -> None:
    refuse_auditors(actor)
    if not actor.is_governance_admin:
        raise NotAllowed("Only governance admins define review campaigns.")


def _message(error: ValidationError) -> str:
    return " ".join(message for messages in error.message_dict.values() for message in messages)


def _snapshot(campaign: Campaign) -> dict:
    plain = {field: getattr(campaign, field) for field in FIELDS if field != "fallback_reviewer"}
    plain["fallback_reviewer"] = campaign.fallback_reviewer_id
    for field, value in plain.items():
        if isinstance(value, datetime):
            plain[field] = value.isoformat()
    if campaign.pk:
        for field in MANY:
            plain[field] = sorted(getattr(campaign, field).values_list("pk", flat=True))
    return plain


def save_draft(*, actor: User, values: dict, campaign_id: int | None = None) -> Campaign:
    """Create a draft campaign owned by `actor`, or change a draft; audited with before and after.

    `values` holds FIELDS and MANY. A repeating campaign without a next run date gets one
    `repeat_months` from now.
    """
    _governance_admin(actor)
    with transaction.atomic():
        campaign: Campaign | None
        if campaign_id is None:
            campaign, before = Campaign(owner=actor), None
        else:
            campaign = Campaign.objects.select_for_update().filter(pk=campaign_id).first()
            if campaign is None:
                raise InvalidInput("There is no such campaign.")
            if campaign.state != Campaign.State.DRAFT:
                state = campaign.get_state_display().lower()
                raise StaleState(f"This campaign is already {state}: its scope is fixed.")
            before = _snapshot(campaign)
        for field in FIELDS:
            if field in values:
                setattr(campaign, field, values[field])
        if campaign.repeat_months and campaign.next_run_at is None:
            campaign.next_run_at = add_months(timezone.now(), campaign.repeat_months)
        if not campaign.repeat_months:
            campaign.next_run_at = None
        try:
            campaign.full_clean(exclude=["owner", "template"])
        except ValidationError as exc:
            raise InvalidInput(_message(exc)) from exc
        campaign.launch_error = ""
        campaign.save()
        for field in MANY:
            if field in values:
                getattr(campaign, field).set(values[field])
        record(
            actor=actor,
            action="campaign.created" if before is None else "campaign.changed",
            obj=campaign,
            before=before,
            after=_snapshot(campaign),
        )
    return campaign


def launch_refusal(campaign: Campaign) -> str:
    """Why launching this draft now would fail, in words for the page; empty when it can go ahead."""
    if campaign.state != Campaign.State.DRAFT:
        return f"This campaign is already {campaign.get_state_display().lower()}."
    if campaign.due_at <= timezone.now():
        return "The due date has passed: give the campaign a due date in the future."
    if campaign.reviewer_type == Campaign.ReviewerType.NAMED and not campaign.named_reviewers.exists():
        return "Name at least one reviewer, or choose managers or owners as reviewers."
    if not campaign.owner.is_active:
        return "The campaign's owner can no longer sign in: give it an owner who can sign it off."
    try:
        check_reviewers(campaign)
    except InvalidInput as exc:
        return exc.message
    return ""


def request_launch(*, campaign_id: int, actor: User) -> Campaign:
    """Queue the launch (a worker reconciles the accounts in scope, then takes the snapshot), or refuse
    it now with the reason when it could not succeed."""
    refuse_auditors(actor)
    with transaction.atomic():
        campaign = Campaign.objects.select_for_update().select_related("owner").filter(pk=campaign_id).first()
        if campaign is None:
            raise InvalidInput("There is no such campaign.")
        if actor.pk != campaign.owner_id and not actor.is_governance_admin:
            raise NotAllowed("Only the campaign's owner or a governance admin can launch it.")
        if campaign.state != Campaign.State.DRAFT:
            raise StaleState(f"This campaign is already {campaign.get_state_display().lower()}.")
        refusal = launch_refusal(campaign)
        if refusal:
            raise InvalidInput(refusal)
        campaign.launch_requested_at, campaign.launch_error = timezone.now(), ""
        campaign.save(update_fields=["launch_requested_at", "launch_error"])
        record(actor=actor, action="campaign.launch_requested", obj=campaign)
        enqueue("reviews.launch_fresh", campaign.pk, actor.pk)
    return campaign


def record_launch_failure(*, campaign_id: int, reason: str) -> Campaign | None:
    """A launch failed in the worker: keep the reason on the (still draft) campaign, tell its owner, audit it.

    None when the campaign is no longer a draft (another launch got there first): nothing failed then.
    """
    with transaction.atomic():
        campaign = (
            Campaign.objects.select_for_update()
            .filter(pk=campaign_id, state=Campaign.State.DRAFT)
            .select_related("owner")
            .first()
        )
        if campaign is None:
            return None
        campaign.launch_error = reason[:500]
        campaign.save(update_fields=["launch_error"])
        record(
            actor=None,
            actor_label="system:reviews",
            action="campaign.launch_failed",
            obj=campaign,
            after={"reason": campaign.launch_error},
        )
        notices.launch_failed(campaign, campaign.launch_error)
    return campaign
