"""Recurring campaigns: a template's scope copied into a new draft campaign and launched after a fresh reconcile."""

from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from audit.services import record
from reviews.models import Campaign

SCOPE_FIELDS = [
    "kinds",
    "risks",
    "departments",
    "reviewer_type",
    "second_stage",
    "undecided",
    "remind_days_before",
    "escalate_days_before",
    "owner_id",
    "fallback_reviewer_id",
]


def add_months(moment: datetime, months: int) -> datetime:
    month = moment.month - 1 + months
    year, month = moment.year + month // 12, month % 12 + 1
    day = min(moment.day, 28)  # every month has a 28th
    return moment.replace(year=year, month=month, day=day)


def copy_template(template: Campaign, now: datetime) -> Campaign:
    """A new draft with the template's scope and reviewers; the template moves to its next date."""
    with transaction.atomic():
        template = Campaign.objects.select_for_update(no_key=True).get(pk=template.pk)
        run = Campaign.objects.create(
            name=f"{template.name} {now:%Y-%m}",
            due_at=now + timedelta(days=template.review_days),
            template=template,
            **{field: getattr(template, field) for field in SCOPE_FIELDS},
        )
        run.named_reviewers.set(template.named_reviewers.all())
        run.accounts.set(template.accounts.all())
        run.entitlements.set(template.entitlements.all())
        template.next_run_at = add_months(template.next_run_at or now, template.repeat_months)
        template.save(update_fields=["next_run_at"])
        record(
            actor=None,
            actor_label="system:reviews",
            action="campaign.repeated",
            obj=run,
            after={"template": template.pk, "next_run_at": template.next_run_at.isoformat()},
        )
    return run


def due_templates(now: datetime | None = None) -> QuerySet[Campaign]:
    now = now or timezone.now()
    return Campaign.objects.filter(repeat_months__gt=0, next_run_at__lte=now, template__isnull=True)
