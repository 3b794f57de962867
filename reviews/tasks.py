"""Periodic work of the reviews app (scheduled in settings.CELERY_BEAT_SCHEDULE)."""

import contextlib

from celery import shared_task
from django.contrib.auth import get_user_model
from django.utils import timezone

from catalog.models import AwsAccount
from iam.aws.errors import AwsError, TransientAwsError
from iam.reconcile import drift_actions
from iam.reconcile.reconcile import ReconcileInProgress, reconcile_account
from inputs.refusals import Refusal
from outbox.services import enqueue
from reviews import notices, reminders, services
from reviews import usage as review_usage
from reviews.models import Campaign, ReviewItem
from reviews.services import evidence_packs, repeats


@shared_task(name="reviews.refresh_remediation")
def refresh_remediation() -> int:
    """Record, for the evidence, what was read back from AWS for every pending revocation; queue again the
    removal of revoked unmanaged access whose message was lost or whose retries ran out."""
    for unmanaged_id in services.unmanaged_removals_waiting():
        enqueue(remove_unmanaged.name, unmanaged_id)
    campaign_ids = (
        ReviewItem.objects.filter(remediation=ReviewItem.Remediation.PENDING, campaign__state=Campaign.State.CLOSED)
        .values_list("campaign_id", flat=True)
        .distinct()
    )
    return sum(services.refresh_remediation(campaign_id) for campaign_id in campaign_ids)


@shared_task(
    name="reviews.remove_unmanaged",
    acks_late=True,
    reject_on_worker_lost=True,
    autoretry_for=(TransientAwsError,),
    retry_backoff=2,
    retry_backoff_max=300,
    retry_jitter=True,
    max_retries=8,
)
def remove_unmanaged(unmanaged_id: int) -> str:
    """Remove from AWS one unmanaged access a review revoked (read back), then bring its campaigns'
    remediation up to date. Safe to run again: a row no longer open is left alone."""
    state = drift_actions.remove_for_review(unmanaged_id)
    campaign_ids = ReviewItem.objects.filter(unmanaged_id=unmanaged_id).values_list("campaign_id", flat=True)
    for campaign_id in set(campaign_ids):
        services.refresh_remediation(campaign_id)
    return state


@shared_task(name="reviews.launch_fresh", acks_late=True)
def launch_fresh(campaign_id: int, actor_id: int) -> int:
    """Reconcile every account in the campaign's scope, then snapshot: the review sees AWS as it is now.

    A launch that fails leaves the campaign a draft with the reason on its page, its owner told and the
    failure audited (services.record_launch_failure); an unexpected error is also raised for the log.
    """
    try:
        campaign = Campaign.objects.get(pk=campaign_id)
        accounts = campaign.accounts.all() if campaign.accounts.exists() else AwsAccount.objects.all()
        for account in accounts:
            # Another reconcile of that account running right now is as fresh as ours would be.
            with contextlib.suppress(ReconcileInProgress):
                try:
                    reconcile_account(account.pk)
                except AwsError as exc:
                    raise LaunchFailed(f"Reading the account {account} from AWS failed: {exc.message}") from exc
        actor = get_user_model().objects.get(pk=actor_id)
        count = services.launch(campaign_id=campaign.pk, actor=actor).population_count
    except (LaunchFailed, Refusal) as exc:
        services.record_launch_failure(campaign_id=campaign_id, reason=str(exc.message))
        return 0
    except Exception:
        services.record_launch_failure(
            campaign_id=campaign_id, reason="The worker hit an unexpected error; the details are in its log."
        )
        raise
    notices.campaign_started(campaign.pk)
    enqueue(collect_usage.name, campaign.pk)
    enqueue(collect_activity.name, campaign.pk)
    return count


class LaunchFailed(Exception):
    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


@shared_task(name="reviews.repeat_templates")
def repeat_templates() -> int:
    """Beat: copy each due template (quarterly, say) into a new campaign and launch it fresh (as its owner)."""
    runs = [repeats.copy_template(template, timezone.now()) for template in repeats.due_templates()]
    for run in runs:
        # As from the page: what cannot launch is refused now, and its owner told why on the run's page.
        try:
            services.request_launch(campaign_id=run.pk, actor=run.owner)
        except Refusal as exc:
            services.record_launch_failure(campaign_id=run.pk, reason=exc.message)
    return len(runs)


@shared_task(name="reviews.remind_reviewers")
def remind_reviewers() -> int:
    """Beat: reviewers with undecided lines in campaigns due within three days hear about it daily."""
    return reminders.remind_reviewers()


@shared_task(name="reviews.escalate_reviewers")
def escalate_reviewers() -> int:
    """Beat: near the due date, reviewers with undecided lines are escalated to their manager (or the owner), daily."""
    return reminders.escalate_reviewers()


USAGE_RETRIES = 5


@shared_task(name="reviews.collect_usage", acks_late=True, bind=True, max_retries=USAGE_RETRIES)
def collect_usage(self, campaign_id: int) -> int:
    """After launch: Access Advisor's last-used evidence beside each line. Holders AWS was too busy to
    answer for are asked again with backoff; only the last attempt records that AWS was too busy."""
    final = self.request.retries >= USAGE_RETRIES
    try:
        return review_usage.collect(campaign_id, final=final)
    except TransientAwsError as exc:
        raise self.retry(exc=exc, countdown=min(300, 2 ** (self.request.retries + 2))) from exc


@shared_task(name="reviews.collect_activity", acks_late=True, bind=True, max_retries=USAGE_RETRIES)
def collect_activity(self, campaign_id: int) -> int:
    """After launch: what each holder did with each line in the review window, from CloudTrail, beside it."""
    try:
        return review_usage.collect_activity(campaign_id)
    except TransientAwsError as exc:
        raise self.retry(exc=exc, countdown=min(300, 2 ** (self.request.retries + 2))) from exc


@shared_task(name="reviews.tell_revoked_holders")
def tell_revoked_holders(campaign_id: int) -> int:
    """After sign-off: each holder whose access the review revoked is told, once."""
    return len(notices.access_revoked(campaign_id))


@shared_task(name="reviews.build_evidence_pack", acks_late=True)
def build_evidence_pack(pack_id: int) -> int | None:
    """Build an evidence pack asked for on the campaign page (reviews.services.evidence_packs). Safe to run
    twice: a pack no longer waiting is left alone. A failure is on the pack's row for the page."""
    pack = evidence_packs.build_pack(pack_id)
    return pack.size if pack else None
