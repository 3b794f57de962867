"""Launching a campaign: one review item per person and entitlement in scope, inserted set-wise.

The snapshot is two `INSERT ... SELECT` statements built from the ORM's own SQL: one for the present
grants in scope, one for the open unmanaged access in scope (access AWS shows that the ledger does
not hold, iam.UnmanagedAccess), with the reviewers chosen in SQL. Nobody is ever their own reviewer,
in either stage (a database constraint holds it).
"""

import hashlib
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.db.models import Case, CharField, Exists, F, IntegerField, OuterRef, Q, QuerySet, Subquery, Value, When
from django.db.models.functions import Coalesce, Concat, NullIf
from django.utils import timezone

from access.models import Grant
from accounts.models import User
from audit.services import record
from catalog.models import Entitlement
from iam.models import UnmanagedAccess
from inputs.refusals import InvalidInput, NotAllowed, StaleState
from posture.models import PostureFinding
from reviews.access_rules import refuse_auditors
from reviews.models import Campaign, ReviewItem
from reviews.progress_counters import recount

# Posture findings that say the holder does not use their access in that account.
UNUSED_CONTROLS = ["2.11"]

# The columns both statements fill, in their SELECT's order; the rest take their database defaults.
COMMON_COLUMNS = [
    "recommendation",
    "recommendation_reason",
    "campaign_id",
    "holder_id",
    "holder_name",
    "entitlement_id",
    "origin",
    "held_since",
    "reviewer_id",
    "reviewer_reason",
    "decision",
    "comment",
    "automatic",
    "remediation",
]
GRANT_COLUMNS = [*COMMON_COLUMNS, "grant_id"]
UNMANAGED_COLUMNS = [*COMMON_COLUMNS, "unmanaged_id", "aws_principal"]
SECOND_STAGE_COLUMNS = ["second_reviewer_id", "second_reviewer_reason"]

_SELECTED = [
    "r_recommendation",
    "r_recommendation_reason",
    "r_campaign",
    "r_holder",
    "r_holder_name",
    "entitlement_id",
    "r_origin",
    "r_held_since",
    "r_reviewer",
    "r_reason",
    "r_decision",
    "r_comment",
    "r_automatic",
    "r_remediation",
]


def population(campaign: Campaign) -> QuerySet[Grant]:
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


def unmanaged_population(campaign: Campaign) -> QuerySet[UnmanagedAccess]:
    """The open unmanaged access the campaign's scope covers, one row per holder and entitlement.

    Only access to an entitlement in the catalog: the scope (entitlements, risks) and the owners who
    review it are the catalog's; the rest stays on the Operations page until its entitlement is
    imported. Rows of an unknown principal are left out when the scope names departments.
    """
    rows = UnmanagedAccess.objects.filter(state=UnmanagedAccess.State.OPEN, entitlement__isnull=False)
    if campaign.accounts.exists():
        rows = rows.filter(account__in=campaign.accounts.all())
    if campaign.entitlements.exists():
        rows = rows.filter(entitlement__in=campaign.entitlements.all())
    if campaign.kinds:
        rows = rows.filter(kind__in=campaign.kinds)
    if campaign.risks:
        rows = rows.filter(entitlement__risk__in=campaign.risks)
    if campaign.departments:
        rows = rows.filter(person__department__in=campaign.departments)
    # A grant line for the same person and entitlement is already in (a grant approved since AWS was
    # read); two Identity Center users matched to one person give one line.
    in_snapshot = ReviewItem.objects.filter(
        campaign_id=campaign.pk, holder_id=OuterRef("person_id"), entitlement_id=OuterRef("entitlement_id")
    )
    earlier = UnmanagedAccess.objects.filter(
        state=UnmanagedAccess.State.OPEN,
        person_id=OuterRef("person_id"),
        entitlement_id=OuterRef("entitlement_id"),
        pk__lt=OuterRef("pk"),
    )
    return rows.exclude(Exists(in_snapshot)).exclude(Exists(earlier))


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
    if get_user_model().objects.filter(pk__in=[fallback, second], is_auditor=True).exists():
        raise InvalidInput(
            "Auditors review nothing: choose a fallback reviewer and campaign owner who are not auditors.",
            field="fallback_reviewer",
        )
    return fallback, second


def _other_owner(holder: str):
    """The entitlement's first owner who is not the holder (an unknown holder excludes nobody) nor an auditor."""
    owners = Entitlement.owners.through.objects.filter(
        entitlement_id=OuterRef("entitlement_id"), user__is_auditor=False
    )
    other = owners.exclude(user_id=Coalesce(OuterRef(f"{holder}_id"), 0)).order_by("user_id").values("user_id")[:1]
    return Subquery(other, output_field=IntegerField())


def _primary(campaign: Campaign, holder: str):
    """The usual reviewer per row, never the holder; NULL when there is none. `holder` names the row's
    person field: `user` on grants, `person` on unmanaged access."""
    kinds = Campaign.ReviewerType
    if campaign.reviewer_type == kinds.MANAGER:
        # Auditors review nothing (reviews.access_rules): their reports' lines go to the fallback.
        active = Q(
            **{
                f"{holder}__manager__is_active": True,
                f"{holder}__manager__employment_status": "active",
                f"{holder}__manager__is_auditor": False,
            }
        )
        manager = Case(When(active, then=F(f"{holder}__manager_id")), default=None, output_field=IntegerField())
        return manager, "Manager"
    if campaign.reviewer_type == kinds.OWNER:
        return _other_owner(holder), "Owner of the entitlement"
    named = Campaign.named_reviewers.through.objects.filter(campaign_id=campaign.pk, user__is_auditor=False)
    other = named.exclude(user_id=Coalesce(OuterRef(f"{holder}_id"), 0)).order_by("user_id").values("user_id")[:1]
    return Subquery(other, output_field=IntegerField()), "Named reviewer"


def _reviewers(campaign: Campaign, holder: str, *, unmanaged: bool) -> dict:
    """Annotations choosing each row's reviewer (and second-stage reviewer) and saying why.

    First stage: the campaign's reviewer; for unmanaged access nobody in the org chart may know
    (an unknown principal has no manager), an owner of the entitlement next; then the fallback
    reviewer, or the campaign owner when the fallback is the holder. Second stage: an owner other
    than the holder, else the same fallback; none when that is the first reviewer again (a second
    look by the same person is no second look: the line has one stage, and says so).
    """
    fallback, second = _fallbacks(campaign)
    primary, primary_reason = _primary(campaign, holder)
    holder_id = f"{holder}_id"
    backup = Case(
        When(**{holder_id: fallback}, then=Value(second)), default=Value(fallback), output_field=IntegerField()
    )
    backup_reason = Case(
        When(**{holder_id: fallback}, then=Value("Campaign owner: the fallback reviewer holds this access")),
        default=Value("Fallback reviewer: nobody else could review it"),
        output_field=CharField(),
    )
    by_owner = unmanaged and campaign.reviewer_type != Campaign.ReviewerType.OWNER
    annotations = {"r_primary": primary}
    if by_owner:
        annotations["r_owner"] = _other_owner(holder)
        annotations["r_reviewer"] = Coalesce(F("r_primary"), F("r_owner"), backup)
        annotations["r_reason"] = Case(
            When(r_primary__isnull=False, then=Value(primary_reason)),
            When(
                r_owner__isnull=False, then=Value("Owner of the entitlement: unmanaged access with nobody else to ask")
            ),
            default=backup_reason,
            output_field=CharField(),
        )
    else:
        annotations["r_reviewer"] = Coalesce(F("r_primary"), backup)
        annotations["r_reason"] = Case(
            When(r_primary__isnull=False, then=Value(primary_reason)), default=backup_reason, output_field=CharField()
        )
    if campaign.second_stage:
        annotations["r_second_owner"] = _other_owner(holder)
        annotations["r_second"] = NullIf(Coalesce(F("r_second_owner"), backup), F("r_reviewer"))
        annotations["r_second_reason"] = Case(
            When(r_second__isnull=True, then=Value("One stage: the second reviewer would be the first again")),
            When(r_second_owner__isnull=False, then=Value("Owner of the entitlement (second stage)")),
            default=Concat(backup_reason, Value(" (second stage)")),
            output_field=CharField(),
        )
    return annotations


def _recommendation(holder: str, *, unmanaged: bool) -> dict:
    """What the evidence suggests for each row, and why: the first rule that holds wins."""
    decision = ReviewItem.Decision
    soon = timezone.now() + timedelta(days=14)
    unused = Exists(
        PostureFinding.objects.filter(
            person_id=OuterRef(f"{holder}_id"),
            account_id=OuterRef("entitlement__account_id"),
            control_id__in=UNUSED_CONTROLS,
            resolved_at__isnull=True,
        )
    )
    rules = [(Q(**{f"{holder}__employment_status": "leaver"}), decision.REVOKE, "The holder has left")]
    if unmanaged:
        rules.append(
            (Q(**{f"{holder}_id__isnull": True}), decision.REVOKE, "Held by an AWS principal that is no portal person")
        )
    rules.append((Q(r_unused=True), decision.REVOKE, "The holder's credentials here are unused (CIS 2.11 finding)"))
    if unmanaged:
        explanations, otherwise = [], "In AWS with no grant: never requested, approved or adopted"
    else:
        rules.append((Q(expires_at__lte=soon), decision.KEEP, "Ends within 14 days anyway"))
        explanations = [
            When(source=Grant.Source.IMPORT, then=Value("Found in AWS and adopted: never requested")),
            When(source=Grant.Source.ADMIN, then=Value("Granted by an administrator without a request")),
        ]
        otherwise = ""
    return {
        "r_unused": unused,
        "r_recommendation": Case(
            *[When(condition, then=Value(choice)) for condition, choice, _ in rules],
            default=Value(decision.UNDECIDED),
            output_field=CharField(),
        ),
        "r_recommendation_reason": Case(
            *[When(condition, then=Value(why)) for condition, _, why in rules],
            *explanations,
            default=Value(otherwise),
            output_field=CharField(),
        ),
    }


def _fixed(campaign: Campaign) -> dict:
    return {
        "r_campaign": Value(campaign.pk, output_field=IntegerField()),
        "r_decision": Value(ReviewItem.Decision.UNDECIDED, output_field=CharField()),
        "r_comment": Value("", output_field=CharField()),
        "r_automatic": Value(False),
        "r_remediation": Value(ReviewItem.Remediation.NONE, output_field=CharField()),
    }


def _second_stage_selected(campaign: Campaign) -> list[str]:
    return ["r_second", "r_second_reason"] if campaign.second_stage else []


def _grant_rows(campaign: Campaign):
    return (
        population(campaign)
        .annotate(
            **_fixed(campaign),
            **_reviewers(campaign, "user", unmanaged=False),
            **_recommendation("user", unmanaged=False),
            r_holder=F("user_id"),
            r_holder_name=F("user__full_name"),
            r_origin=F("source"),
            r_held_since=F("granted_at"),
        )
        .values_list(*_SELECTED, "id", *_second_stage_selected(campaign))
        # In the unique index's order: each new entry lands at the index's right edge, not at random.
        .order_by("user_id", "entitlement_id")
    )


def _unmanaged_rows(campaign: Campaign):
    return (
        unmanaged_population(campaign)
        .annotate(
            **_fixed(campaign),
            **_reviewers(campaign, "person", unmanaged=True),
            **_recommendation("person", unmanaged=True),
            r_holder=F("person_id"),
            # No portal person: the AWS principal is the name the queue shows and sorts by.
            r_holder_name=Coalesce(F("person__full_name"), F("aws_principal")),
            r_origin=Value(ReviewItem.Origin.UNMANAGED, output_field=CharField()),
            r_held_since=F("first_seen"),
        )
        .values_list(*_SELECTED, "id", "aws_principal", *_second_stage_selected(campaign))
        .order_by()
    )


def _insert(rows, columns: list[str]) -> int:
    sql, params = rows.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(f"INSERT INTO {ReviewItem._meta.db_table} ({', '.join(columns)}) {sql}", params)
        return cursor.rowcount


def population_hash(campaign_id: int) -> str:
    """SHA-256 over one line per item, "holder:entitlement", in order of holder, then entitlement.

    `holder` is the person's id, or for unmanaged access of no portal person "aws:" and the AWS
    principal (those lines come last, by entitlement, then principal). Auditors recompute it from
    the evidence pack.
    """
    if connection.vendor == "postgresql":  # in the database: no million rows through Python
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT encode(sha256(convert_to(coalesce(string_agg("
                "coalesce(holder_id::text, 'aws:' || aws_principal) || ':' || entitlement_id || chr(10), ''"
                " ORDER BY holder_id NULLS LAST, entitlement_id, aws_principal), ''), 'UTF8')), 'hex')"
                " FROM reviews_reviewitem WHERE campaign_id = %s",
                [campaign_id],
            )
            return cursor.fetchone()[0]
    digest = hashlib.sha256()
    lines = ReviewItem.objects.filter(campaign_id=campaign_id).order_by(
        F("holder_id").asc(nulls_last=True), "entitlement_id", "aws_principal"
    )
    for holder_id, principal, entitlement_id in lines.values_list(
        "holder_id", "aws_principal", "entitlement_id"
    ).iterator(chunk_size=10_000):
        holder = holder_id if holder_id is not None else f"aws:{principal}"
        digest.update(f"{holder}:{entitlement_id}\n".encode())
    return digest.hexdigest()


def _scope(campaign: Campaign) -> dict:
    """The scope as it was at launch, for the audit trail (the campaign's fields could change later)."""
    return {
        "accounts": sorted(campaign.accounts.values_list("account_id", flat=True)),
        "entitlements": sorted(campaign.entitlements.values_list("pk", flat=True)),
        "kinds": campaign.kinds,
        "risks": campaign.risks,
        "departments": campaign.departments,
        "reviewer_type": campaign.reviewer_type,
        "second_stage": campaign.second_stage,
        "fallback_reviewer": campaign.fallback_reviewer_id,
    }


def check_reviewers(campaign: Campaign) -> None:
    """Raise InvalidInput when the launch could not give every line a reviewer (see `_fallbacks`)."""
    _fallbacks(campaign)


def take_snapshot(campaign: Campaign) -> tuple[int, int]:
    """Insert the campaign's lines (grants, then unmanaged access); returns how many of each.

    The caller holds the campaign's lock inside a transaction: the launch keeps the lines, the
    preview (reviews/services/preview.py) rolls them back.
    """
    stage_columns = SECOND_STAGE_COLUMNS if campaign.second_stage else []
    granted = _insert(_grant_rows(campaign), GRANT_COLUMNS + stage_columns)
    unmanaged = _insert(_unmanaged_rows(campaign), UNMANAGED_COLUMNS + stage_columns)
    recount(campaign.pk)  # the progress counters start from the snapshot
    return granted, unmanaged


def launch(*, campaign_id: int, actor: User) -> Campaign:
    """Snapshot the population into review items and start the campaign; audited with scope, count and hash."""
    refuse_auditors(actor)
    with transaction.atomic():
        campaign = (
            Campaign.objects.select_for_update(no_key=True, of=("self",)).select_related("owner").get(pk=campaign_id)
        )
        if actor.pk != campaign.owner_id and not actor.is_governance_admin:
            raise NotAllowed("Only the campaign's owner or a governance admin can launch it.")
        if campaign.state != Campaign.State.DRAFT:
            raise StaleState(f"This campaign is already {campaign.get_state_display().lower()}.")
        granted, unmanaged = take_snapshot(campaign)
        campaign.state, campaign.snapshot_at = Campaign.State.ACTIVE, timezone.now()
        campaign.population_count, campaign.population_hash = granted + unmanaged, population_hash(campaign.pk)
        campaign.save(update_fields=["state", "snapshot_at", "population_count", "population_hash"])
        record(
            actor=actor,
            action="campaign.launched",
            obj=campaign,
            after={
                "items": campaign.population_count,
                "unmanaged": unmanaged,
                "population_sha256": campaign.population_hash,
                "snapshot_at": campaign.snapshot_at.isoformat(),
                "scope": _scope(campaign),
            },
        )
    return campaign
