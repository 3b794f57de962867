"""The evidence pack auditors take away: the snapshot, every decision, remediation and sign-off, as CSV."""

import csv

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
]


class _Echo:
    def write(self, value):
        return value


def rows(campaign: Campaign):
    """CSV lines, streamed: the header, then one line per item in snapshot order (holder, entitlement)."""
    writer = csv.writer(_Echo())
    yield writer.writerow(HEADER)
    items = (
        ReviewItem.objects.filter(campaign=campaign)
        .select_related("holder", "entitlement__account", "reviewer", "decided_by", "grant")
        .order_by("holder_id", "entitlement_id")
    )
    fixed = [campaign.name, _iso(campaign.snapshot_at), campaign.population_count, campaign.population_hash]
    closing = [str(campaign.signed_off_by or ""), _iso(campaign.closed_at)]
    for item in items.iterator(chunk_size=2000):
        yield writer.writerow(
            [
                *fixed,
                item.holder.full_name,
                item.holder.email,
                item.entitlement.name,
                item.entitlement.account.account_id,
                item.origin,
                _iso(item.held_since),
                item.reviewer.email,
                item.reviewer_reason,
                item.recommendation,
                item.recommendation_reason,
                item.usage_evidence,
                item.decision,
                item.comment,
                item.decided_by.email if item.decided_by else "",
                _iso(item.decided_at),
                item.automatic,
                item.live_remediation,
                *closing,
            ]
        )


def _iso(moment) -> str:
    return moment.isoformat() if moment else ""
