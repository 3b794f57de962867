"""notifications.remind_approvers: one reminder per approver whose steps waited too long, not more often than that."""

from datetime import datetime, timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from access import services
from notifications import services as notification_services
from notifications import tasks
from notifications.models import Notification

from .conftest import GOOD_REASON

REMINDER = Notification.Kind.APPROVAL_REMINDER


@pytest.fixture
def interval() -> timedelta:
    return timedelta(hours=settings.APPROVAL_REMIND_EVERY_HOURS)


def later(interval: timedelta, times: float = 1) -> datetime:
    """A moment `times` reminder intervals from now, plus a minute."""
    return timezone.now() + interval * times + timedelta(minutes=1)


def test_steps_younger_than_the_interval_are_not_reminded(alices_request):
    assert tasks.remind_approvers() == 0
    assert not Notification.objects.exists()


def test_approver_gets_one_reminder_listing_waiting_steps_oldest_first(cast, sandbox, entitlement, interval, told):
    services.submit_request(requester=cast.alice, entitlement=sandbox.developers, justification=GOOD_REASON)
    services.submit_request(requester=cast.alice, entitlement=entitlement("ReadOnly"), justification=GOOD_REASON)

    assert notification_services.remind_approvers(now=later(interval)) == 1

    [reminder] = told(cast.bob)
    assert reminder.kind == REMINDER
    assert reminder.title == "Reminder: 2 approvals waiting for you"
    assert reminder.link == "/approvals/"
    developers, readonly = (reminder.body.index(name) for name in ("Developers for Alice", "ReadOnly for Alice"))
    assert developers < readonly, "oldest first"
    assert told(cast.alice) == [], "the requester is not an approver"


def test_nobody_is_reminded_twice_within_the_interval(cast, alices_request, interval, told):
    notification_services.remind_approvers(now=later(interval))

    assert notification_services.remind_approvers(now=later(interval, 1.5)) == 0
    assert notification_services.remind_approvers(now=later(interval, 2.1)) == 1
    assert len(told(cast.bob, REMINDER)) == 2


def test_decided_steps_are_not_reminded(cast, alices_request, interval):
    services.approve(request_id=alices_request.pk, actor=cast.bob)

    assert notification_services.remind_approvers(now=later(interval)) == 0


def test_admin_steps_remind_every_admin_except_the_requester(cast, sandbox, grace, interval, told):
    services.submit_request(requester=cast.erin, entitlement=sandbox.developers, justification=GOOD_REASON)

    assert notification_services.remind_approvers(now=later(interval)) == 1

    assert told(cast.erin) == []
    assert told(grace)[0].title == "Reminder: 1 approval waiting for you"
    assert "Developers for Erin Admin" in told(grace)[0].body
