"""notifications.grant_synced and expiry_reminder: the holder hears when access goes live, fails or ends."""

from datetime import timedelta

import pytest
from django.utils import timezone

from access import services
from access.models import Grant
from notifications import tasks
from notifications.models import Notification

Kind = Notification.Kind
AWS_ERROR = "AccessDenied: not authorized to perform iam:AddUserToGroup on Developers"


@pytest.fixture
def alices_grant(cast, alices_request) -> Grant:
    """Approved by Bob, waiting for the IAM sync engine."""
    services.approve(request_id=alices_request.pk, actor=cast.bob)
    return Grant.objects.get(user=cast.alice)


def ends_in(grant: Grant, delta: timedelta) -> Grant:
    # Setting the end date by hand stands in for a time-bound grant that went live earlier.
    Grant.objects.filter(pk=grant.pk).update(expires_at=timezone.now() + delta)
    grant.refresh_from_db()
    return grant


def test_holder_is_told_access_is_live(cast, alices_grant, told):
    services.record_sync_success(services.claim_grant_for_sync(alices_grant.pk), evidence="member of Developers")

    assert tasks.grant_synced(alices_grant.pk) == 1

    [notice] = told(cast.alice)
    assert notice.kind == Kind.ACCESS_LIVE
    assert notice.title == "Your access to Developers is live in AWS"
    assert notice.body == "Your access to Developers in Sandbox is live in AWS."
    assert (notice.link, notice.about_grant) == ("/access/", alices_grant.pk)


def test_live_access_with_an_end_date_says_when_it_ends(cast, alices_grant, told):
    ends_in(alices_grant, timedelta(days=30))
    services.record_sync_success(services.claim_grant_for_sync(alices_grant.pk), evidence="member of Developers")

    tasks.grant_synced(alices_grant.pk)

    body = told(cast.alice)[0].body
    assert "It ends on " in body
    assert "extend it from My access" in body


def test_failure_shows_the_error_to_the_holder_and_tells_the_admins(cast, alices_grant, grace, told):
    services.record_sync_failure(services.claim_grant_for_sync(alices_grant.pk), error=AWS_ERROR)

    assert tasks.grant_synced(alices_grant.pk) == 3

    [notice] = told(cast.alice)
    assert notice.kind == Kind.SYNC_FAILED
    assert notice.title == "Access not set up: Developers in Sandbox"
    assert AWS_ERROR in notice.body
    assert "The governance admins were told" in notice.body
    for admin in (cast.erin, grace):
        [alert] = told(admin)
        assert alert.title == "AWS sync failed: Developers for Alice Engineer"
        assert AWS_ERROR in alert.body
        assert alert.link == f"/admin/access/grant/{alices_grant.pk}/change/"
    assert told(cast.bob) == []


def test_a_grant_still_syncing_is_not_announced(alices_grant):
    services.claim_grant_for_sync(alices_grant.pk)

    assert tasks.grant_synced(alices_grant.pk) == 0
    assert not Notification.objects.exists()


@pytest.mark.parametrize(("days", "title"), [(7, "ends in 7 days"), (1, "ends within a day")])
def test_holder_is_reminded_before_access_ends(cast, alices_grant, told, days, title):
    ends_in(alices_grant, timedelta(days=days, hours=-1))

    assert tasks.expiry_reminder(alices_grant.pk, days) == 1

    [notice] = told(cast.alice)
    assert notice.kind == Kind.ACCESS_ENDING
    assert notice.title == f"Your access to Developers {title}"
    assert "ask to extend it from My access" in notice.body
    assert notice.link == "/access/"


def test_a_shorter_grant_is_told_the_days_it_really_has(cast, alices_grant, told):
    ends_in(alices_grant, timedelta(days=3))

    tasks.expiry_reminder(alices_grant.pk, 7)

    assert told(cast.alice)[0].title == "Your access to Developers ends in 3 days"


def test_the_expiry_sweep_sends_the_seven_day_reminder(cast, alices_grant, told):
    ends_in(alices_grant, timedelta(days=6, hours=23))

    for grant_id, days_left in services.due_expiry_reminders():
        tasks.expiry_reminder(grant_id, days_left)

    assert [notice.title for notice in told(cast.alice)] == ["Your access to Developers ends in 7 days"]


def test_no_reminder_for_access_already_ended(cast, alices_grant):
    ends_in(alices_grant, timedelta(days=7))
    services.give_back(grant_id=alices_grant.pk, actor=cast.alice)

    assert tasks.expiry_reminder(alices_grant.pk, 7) == 0


def test_a_batch_notice_that_fails_for_one_grant_still_tells_the_others_then_fails(cast, alices_grant, told):
    services.record_sync_success(services.claim_grant_for_sync(alices_grant.pk), evidence="member of Developers")
    garbled = "not-a-grant"  # a message mangled on its way: that grant's notice fails

    with pytest.raises(RuntimeError, match="Notifications failed for grants \\['not-a-grant'\\]"):
        tasks.grants_synced([garbled, alices_grant.pk])

    assert [notice.kind for notice in told(cast.alice)] == [Kind.ACCESS_LIVE]
