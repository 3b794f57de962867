"""Usage evidence for review lines: when each holder last used their access, from IAM's Access Advisor.

Collected after launch, per holder and account (one Access Advisor job each, not one per line).
A line whose holder never used, or has not used for STALE_DAYS, what their policies in that account
allow gets "revoke" as its recommendation, unless a stronger reason was already given. When AWS
cannot say (not offered, not allowed, an unreadable answer), the line says "Usage not available" and
why, in plain words, and keeps its recommendation. A transient error (throttling, a job still running)
is not recorded: the lines stay empty and `collect` raises TransientAwsError so the task asks again
later; only on its last attempt (`final`) does it record that AWS was too busy.
"""

from datetime import datetime, timedelta

from django.db.models import Q
from django.utils import timezone

from catalog.models import Entitlement
from iam.aws.errors import PermanentAwsError, TransientAwsError
from iam.aws.gateway import account_access
from iam.aws.identity import iam_user_name
from iam.facts import access_advisor, cloudtrail
from reviews.models import ReviewItem

STALE_DAYS = 90
IAM_KINDS = [Entitlement.Kind.IAM_GROUP, Entitlement.Kind.IAM_POLICY, Entitlement.Kind.IAM_ROLE]


def not_available(reason: str) -> str:
    return f"Usage not available: {reason}"[:200]


def collect(campaign_id: int, now: datetime | None = None, *, final: bool = True) -> int:
    """Record usage evidence on the campaign's IAM lines; returns how many principal-account pairs were read.

    Not `final`: lines AWS was too busy to answer for are left empty and TransientAwsError raised at the
    end (after every other pair was read), for the caller to retry.
    """
    now = now or timezone.now()
    lines = ReviewItem.objects.filter(
        campaign_id=campaign_id, entitlement__kind__in=IAM_KINDS, usage_evidence=""
    ).select_related("holder", "entitlement__account")
    pairs = {}
    for item in lines:
        pairs[(_principal(item), item.entitlement.account)] = _lines_of(item)
    busy = 0
    for (principal, account), who in sorted(pairs.items(), key=lambda pair: (pair[0][0], pair[0][1].pk)):
        same = ReviewItem.objects.filter(
            who, campaign_id=campaign_id, entitlement__account=account, entitlement__kind__in=IAM_KINDS
        )
        try:
            found = access_advisor.last_accessed(account_access(account), principal)
        except access_advisor.UsageUnavailable as exc:
            same.update(usage_evidence=not_available(exc.reason))
            continue
        except TransientAwsError:
            if final:
                same.update(usage_evidence=not_available(access_advisor.BUSY))
            busy += 1
            continue
        if found.last_used is None:
            evidence = "Never used what these permissions allow"
        else:
            evidence = f"Last used {(now - found.last_used).days} days ago"
        same.update(last_used_at=found.last_used, usage_evidence=evidence)
        stale = found.last_used is None or found.last_used < now - timedelta(days=STALE_DAYS)
        if stale:
            same.filter(Q(recommendation_reason="") | Q(recommendation=ReviewItem.Decision.UNDECIDED)).exclude(
                recommendation=ReviewItem.Decision.REVOKE
            ).update(
                recommendation=ReviewItem.Decision.REVOKE,
                recommendation_reason=evidence,
                recommendation_source=ReviewItem.RecommendationSource.ACCESS_ADVISOR,
            )
    if busy and not final:
        raise TransientAwsError(f"AWS was too busy to report usage for {busy} of {len(pairs)} holders.", "Busy")
    return len(pairs)


def _principal(item: ReviewItem) -> str:
    """The IAM user whose use is read: the person's, or for unmanaged access of nobody, the one holding it."""
    return iam_user_name(item.holder) if item.holder_id is not None else item.aws_principal


def _lines_of(item: ReviewItem) -> Q:
    """The lines that share `item`'s holder: the person's, or the unknown principal's."""
    if item.holder_id is not None:
        return Q(holder_id=item.holder_id)
    return Q(holder__isnull=True, aws_principal=item.aws_principal)


# --- CloudTrail: what was done in the review window ------------------------------------------------

NOT_CONFIGURED = "CloudTrail is not configured for this account"


def activity_words(summary: cloudtrail.Summary, days: int) -> str:
    """'used 37 calls in the last 90 days: s3:GetObject, …' or 'not used in the last 90 days'."""
    if summary.calls == 0:
        return f"not used in the last {days} days"
    top = [action for action, _ in summary.actions.most_common(4)]
    more = ", …" if len(summary.actions) > len(top) else ""
    return (
        f"used {summary.calls} call{'s' if summary.calls != 1 else ''} in the last {days} days: {', '.join(top)}{more}"
    )


def collect_activity(campaign_id: int, now: datetime | None = None) -> int:
    """Record, beside each line held by a portal person, what they did with it in the last STALE_DAYS days
    (one pass over each account's CloudTrail files for all its lines); a line not used at all is recommended
    for revoking, source CloudTrail, unless a stronger reason was already given. Returns the lines read.

    TransientAwsError is raised for the caller to retry; a bucket the portal may not read is said in words.
    """
    now = now or timezone.now()
    start = now - timedelta(days=STALE_DAYS)
    unread = ReviewItem.objects.filter(campaign_id=campaign_id, holder__isnull=False, activity_evidence="")
    lines = list(unread.select_related("holder", "entitlement__account"))
    by_account: dict = {}
    for item in lines:
        by_account.setdefault(item.entitlement.account, []).append(item)
    for account, items in sorted(by_account.items(), key=lambda pair: pair[0].pk):
        if not account.cloudtrail_bucket:
            ReviewItem.objects.filter(pk__in=[item.pk for item in items]).update(activity_evidence=NOT_CONFIGURED)
            continue
        matchers = {item.pk: cloudtrail.principal_for(item.holder, item.entitlement)[1] for item in items}
        try:
            found = cloudtrail.summarise_many(account, matchers, start, now)
        except PermanentAwsError as exc:
            because = f"CloudTrail could not be read: {cloudtrail.plain_reason(exc)}"[:300]
            ReviewItem.objects.filter(pk__in=[item.pk for item in items]).update(activity_evidence=because)
            continue
        for item in items:
            words = activity_words(found[item.pk], STALE_DAYS)
            ReviewItem.objects.filter(pk=item.pk).update(activity_evidence=words[:300])
            if found[item.pk].calls == 0:
                ReviewItem.objects.filter(pk=item.pk).filter(
                    Q(recommendation_reason="") | Q(recommendation=ReviewItem.Decision.UNDECIDED)
                ).exclude(recommendation=ReviewItem.Decision.REVOKE).update(
                    recommendation=ReviewItem.Decision.REVOKE,
                    recommendation_reason=f"Not used in the last {STALE_DAYS} days",
                    recommendation_source=ReviewItem.RecommendationSource.CLOUDTRAIL,
                )
    return len(lines)
