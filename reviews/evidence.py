"""The evidence pack auditors take away: the snapshot, every decision, remediation and sign-off, as CSV.

The PDF (reviews/evidence_pdf.py) reads the same lines in the same order.
"""

from collections.abc import Iterator
from datetime import datetime

from django.contrib.auth import get_user_model
from django.db.models import F, Q

from accounts.models import User
from catalog.models import Entitlement
from reviews.models import Campaign, ReviewItem

HEADER = [
    "campaign",
    "snapshot_at",
    "population_count",
    "population_sha256",
    "holder",
    "holder_email",
    "entitlement",
    "account",
    "origin",
    "held_since",
    "reviewer",
    "reviewer_reason",
    "recommendation",
    "recommendation_reason",
    "usage_evidence",
    "decision",
    "comment",
    "decided_by",
    "decided_at",
    "automatic",
    "remediation",
    "signed_off_by",
    "closed_at",
    # Added after the columns above, so readers of those are undisturbed.
    # The population hash: SHA-256 of one "holder_id:entitlement_id\n" per line, in this file's order.
    "holder_id",
    "entitlement_id",
    "aws_principal",
    "stage",
    # With a second stage, the first reviewer's keep that handed the line on (the columns above are the owner's).
    "first_decided_by",
    "first_reviewer_reason",
    "first_recommendation",
    "first_decision",
    "first_comment",
    "first_decided_at",
    "remediation_note",
    # What the holder did with the access, from the account's CloudTrail files ("used 37 calls in the last 90
    # days: s3:GetObject, …", "not used in the last 90 days", or why it could not be read), and where the
    # recommendation's evidence came from.
    "cloudtrail_activity",
    "recommendation_source",
]

# Rows fetched from the database at a time: memory stays flat whatever the campaign's size.
CHUNK = 2000


def lines(campaign: Campaign) -> Iterator[ReviewItem]:
    """Every item of the campaign with what the pack shows, streamed, in the population hash's order:
    portal people by id, then unmanaged access of no portal person (as "aws:<principal>"), by entitlement.

    Reviewers and entitlements are few beside the lines: they are read once and shared, so each line
    joins only what is its own (holder, grant, unmanaged access), which halves the time at 100,000 lines.
    """
    items = ReviewItem.objects.filter(campaign=campaign)
    named = get_user_model().objects.filter(
        Q(pk__in=items.values("reviewer_id"))
        | Q(pk__in=items.values("decided_by_id"))
        | Q(pk__in=items.values("first_decided_by_id"))
    )
    people: dict[int | None, User] = {person.pk: person for person in named}
    shown = Entitlement.objects.filter(pk__in=items.values("entitlement_id")).select_related("account")
    entitlements = {entitlement.pk: entitlement for entitlement in shown}
    ordered = items.select_related("holder", "grant", "unmanaged").order_by(
        F("holder_id").asc(nulls_last=True), "entitlement_id", "aws_principal"
    )
    for item in ordered.iterator(chunk_size=CHUNK):
        item.entitlement = entitlements[item.entitlement_id]
        item.reviewer = people[item.reviewer_id]
        item.decided_by = people.get(item.decided_by_id)
        item.first_decided_by = people.get(item.first_decided_by_id)
        yield item


def population_key(item: ReviewItem) -> str:
    """The holder part of the item's line in the population hash."""
    return str(item.holder_id) if item.holder_id is not None else f"aws:{item.aws_principal}"


def rows(campaign: Campaign) -> Iterator[list[object]]:
    """One row per item in snapshot order, streamed (the header is HEADER)."""
    fixed = [campaign.name, iso(campaign.snapshot_at), campaign.population_count, campaign.population_hash]
    closing = [str(campaign.signed_off_by or ""), iso(campaign.closed_at)]
    for item in lines(campaign):
        yield [
            *fixed,
            item.holder.full_name if item.holder else item.holder_label,
            item.holder.email if item.holder else "",
            item.entitlement.name,
            item.entitlement.account.account_id,
            item.origin,
            iso(item.held_since),
            item.reviewer.email,
            item.reviewer_reason,
            item.recommendation,
            item.recommendation_reason,
            item.usage_evidence,
            item.decision,
            item.comment,
            item.decided_by.email if item.decided_by else "",
            iso(item.decided_at),
            item.automatic,
            item.live_remediation,
            *closing,
            population_key(item),
            item.entitlement_id,
            item.aws_principal,
            item.stage,
            item.first_decided_by.email if item.first_decided_by else "",
            item.first_reviewer_reason,
            item.first_recommendation,
            item.first_decision,
            item.first_comment,
            iso(item.first_decided_at),
            item.remediation_note,
            item.activity_evidence,
            item.get_recommendation_source_display(),
        ]


def iso(moment: datetime | None) -> str:
    return moment.isoformat() if moment else ""
