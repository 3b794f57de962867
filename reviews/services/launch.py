"""Launching a campaign: one review item per person and entitlement in scope, inserted set-wise.

The snapshot is one `INSERT ... SELECT` built from the ORM's own SQL for the grants in scope, with
the reviewer chosen in SQL: nobody is ever their own reviewer (a database constraint holds it).
"""

import hashlib
from datetime import timedelta

from django.db import connection, transaction
from django.db.models import Case, CharField, Exists, F, IntegerField, OuterRef, Q, Subquery, Value, When
from django.db.models.functions import Coalesce
from django.utils import timezone

from access.errors import InvalidInput, NotAllowed, StaleState
from access.models import Grant
from audit.services import record
from catalog.models import Entitlement
from posture.models import PostureFinding
from reviews.models import Campaign, ReviewItem

# Posture findings that say the holder does not use their access in that account.
UNUSED_CONTROLS = ["2.11"]

COLUMNS = [
    "recommendation",
    "recommendation_reason",
    "campaign_id",
    "holder_id",
    "entitlement_id",
    "grant_id",
    "origin",
    "held_since",
    "reviewer_id",
    "reviewer_reason",
    "decision",
    "comment",
    "automatic",
    "remediation",
]


def population(campaign: Campaign):
    """The present grants the campaign's scope covers."""
    grants = Grant.objects.filter(desired=Grant.Desired.PRESENT)
    if campaign.accounts.exists():
        grants = grants.filter(entitlement__account__in=campaign.accounts.all())
    if campaign.entitlements.exists():
        grants = grants.filter(entitlement__in=campaign.entitlements.all())
    if campaign.kinds:
        grants = grants.filter(entitlement__kind__in=campaign.kinds)
    if campaign.risks:
        grants = grants.filter(entitlement__risk__in=campaign.risks)
    if campaign.departments:
        grants = grants.filter(user__department__in=campaign.departments)
    return grants


def _fallbacks(campaign: Campaign) -> tuple[int, int]:
    """Who reviews when the usual reviewer is missing, and who when that person is the holder."""
    fallback = campaign.fallback_reviewer_id or campaign.owner_id
    second = campaign.owner_id if campaign.owner_id != fallback else campaign.owner.manager_id
    if second is None or second == fallback:
        raise InvalidInput(
            "Name a fallback reviewer other than the campaign owner, or give the owner a manager: "
            "someone must review the owner's own access.",
            field="fallback_reviewer",
        )
    return fallback, second


def _primary(campaign: Campaign):
    """The usual reviewer per row, never the holder; NULL when there is none."""
    kinds = Campaign.ReviewerType
    if campaign.reviewer_type == kinds.MANAGER:
        active = Q(user__manager__is_active=True, user__manager__employment_status="active")
        return Case(When(active, then=F("user__manager_id")), default=None, output_field=IntegerField()), "Manager"
    if campaign.reviewer_type == kinds.OWNER:
        owners = Entitlement.owners.through.objects.filter(entitlement_id=OuterRef("entitlement_id"))
        other = owners.exclude(user_id=OuterRef("user_id")).order_by("user_id").values("user_id")[:1]
        return Subquery(other, output_field=IntegerField()), "Owner of the entitlement"
    named = Campaign.named_reviewers.through.objects.filter(campaign_id=campaign.pk)
    other = named.exclude(user_id=OuterRef("user_id")).order_by("user_id").values("user_id")[:1]
    return Subquery(other, output_field=IntegerField()), "Named reviewer"


def _rows(campaign: Campaign):
    soon = timezone.now() + timedelta(days=14)
    fallback, second = _fallbacks(campaign)
    primary, primary_reason = _primary(campaign)
    backup = Case(When(user_id=fallback, then=Value(second)), default=Value(fallback), output_field=IntegerField())
    return (
        population(campaign)
        .annotate(
            r_campaign=Value(campaign.pk, output_field=IntegerField()),
            r_primary=primary,
            r_reviewer=Coalesce(F("r_primary"), backup),
            r_reason=Case(
                When(r_primary__isnull=False, then=Value(primary_reason)),
                When(user_id=fallback, then=Value("Campaign owner: the fallback reviewer holds this access")),
                default=Value("Fallback reviewer: nobody else could review it"),
                output_field=CharField(),
            ),
            r_decision=Value(ReviewItem.Decision.UNDECIDED, output_field=CharField()),
            r_unused=Exists(
                PostureFinding.objects.filter(
                    person_id=OuterRef("user_id"),
                    account_id=OuterRef("entitlement__account_id"),
                    control_id__in=UNUSED_CONTROLS,
                    resolved_at__isnull=True,
                )
            ),
            r_recommendation=Case(
                When(user__employment_status="leaver", then=Value(ReviewItem.Decision.REVOKE)),
                When(r_unused=True, then=Value(ReviewItem.Decision.REVOKE)),
                When(expires_at__lte=soon, then=Value(ReviewItem.Decision.KEEP)),
                default=Value(ReviewItem.Decision.UNDECIDED),
                output_field=CharField(),
            ),
            r_recommendation_reason=Case(
                When(user__employment_status="leaver", then=Value("The holder has left")),
                When(r_unused=True, then=Value("The holder's credentials here are unused (CIS 2.11 finding)")),
                When(expires_at__lte=soon, then=Value("Ends within 14 days anyway")),
                When(source=Grant.Source.IMPORT, then=Value("Found in AWS and adopted: never requested")),
                When(source=Grant.Source.ADMIN, then=Value("Granted by an administrator without a request")),
                default=Value(""),
                output_field=CharField(),
            ),
            r_comment=Value("", output_field=CharField()),
            r_automatic=Value(False),
            r_remediation=Value(ReviewItem.Remediation.NONE, output_field=CharField()),
        )
        .values_list(
            "r_recommendation",
            "r_recommendation_reason",
            "r_campaign",
            "user_id",
            "entitlement_id",
            "id",
            "source",
            "granted_at",
            "r_reviewer",
            "r_reason",
            "r_decision",
            "r_comment",
            "r_automatic",
            "r_remediation",
        )
        .order_by()
    )


def population_hash(campaign_id: int) -> str:
    """SHA-256 over "holder:entitlement" lines in order: auditors recompute it from the evidence pack."""
    if connection.vendor == "postgresql":  # in the database: no million rows through Python
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT encode(sha256(convert_to(coalesce(string_agg(holder_id || ':' || entitlement_id || chr(10), ''"
                " ORDER BY holder_id, entitlement_id), ''), 'UTF8')), 'hex') FROM reviews_reviewitem"
                " WHERE campaign_id = %s",
                [campaign_id],
            )
            return cursor.fetchone()[0]
    digest = hashlib.sha256()
    pairs = ReviewItem.objects.filter(campaign_id=campaign_id).order_by("holder_id", "entitlement_id")
    for holder_id, entitlement_id in pairs.values_list("holder_id", "entitlement_id").iterator(chunk_size=10_000):
        digest.update(f"{holder_id}:{entitlement_id}\n".encode())
    return digest.hexdigest()


def launch(*, campaign_id: int, actor) -> Campaign:
    """Snapshot the population into review items and start the campaign; audited with count and hash."""
    with transaction.atomic():
        campaign = Campaign.objects.select_for_update().select_related("owner").get(pk=campaign_id)
        if actor.pk != campaign.owner_id and not actor.is_governance_admin:
            raise NotAllowed("Only the campaign's owner or a governance admin can launch it.")
        if campaign.state != Campaign.State.DRAFT:
            raise StaleState(f"This campaign is already {campaign.get_state_display().lower()}.")
        sql, params = _rows(campaign).query.sql_with_params()
        table = ReviewItem._meta.db_table
        with connection.cursor() as cursor:
            cursor.execute(f"INSERT INTO {table} ({', '.join(COLUMNS)}) {sql}", params)
            count = cursor.rowcount
        campaign.state, campaign.snapshot_at = Campaign.State.ACTIVE, timezone.now()
        campaign.population_count, campaign.population_hash = count, population_hash(campaign.pk)
        campaign.save(update_fields=["state", "snapshot_at", "population_count", "population_hash"])
        record(
            actor=actor,
            action="campaign.launched",
            obj=campaign,
            after={
                "items": count,
                "population_sha256": campaign.population_hash,
                "snapshot_at": campaign.snapshot_at.isoformat(),
            },
        )
    return campaign
