"""notifications.request_decided: the requester and the beneficiary learn how the request ended, and from whom."""

from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from access import services
from notifications import tasks
from notifications.models import Notification

from .conftest import GOOD_REASON

Kind = Notification.Kind


def test_approval_names_the_approver_and_their_comment(cast, alices_request, told):
    services.approve(request_id=alices_request.pk, actor=cast.bob, comment="ok for Q4")

    assert tasks.request_decided(alices_request.pk) == 1

    [notice] = told(cast.alice)
    assert notice.kind == Kind.REQUEST_APPROVED
    assert notice.title == "Request approved: Developers for Alice Engineer"
    assert "Approved by Bob Manager: “ok for Q4”" in notice.body
    assert "being set up in AWS" in notice.body
    assert notice.link == "/requests/"
    assert notice.about_request == alices_request.pk


def test_denial_names_who_denied_and_why(cast, alices_request, told):
    services.deny(request_id=alices_request.pk, actor=cast.bob, comment="use ReadOnly instead")

    tasks.request_decided(alices_request.pk)

    [notice] = told(cast.alice)
    assert notice.kind == Kind.REQUEST_DENIED
    assert notice.title == "Request denied: Developers for Alice Engineer"
    assert notice.body == "Denied by Bob Manager: “use ReadOnly instead”"


def test_denial_without_a_comment_says_none_was_given(cast, alices_request, told):
    services.deny(request_id=alices_request.pk, actor=cast.bob)

    tasks.request_decided(alices_request.pk)

    assert "Denied by Bob Manager. No reason was given" in told(cast.alice)[0].body


def test_requester_and_beneficiary_are_both_told(cast, sandbox, told):
    # Bob asks for Alice; he may not approve it himself, so it falls to the governance admins.
    bobs_request = services.submit_request(
        requester=cast.bob, beneficiary=cast.alice, entitlement=sandbox.developers, justification=GOOD_REASON
    )
    services.approve(request_id=bobs_request.pk, actor=cast.erin, comment="fine")

    assert tasks.request_decided(bobs_request.pk) == 2

    for person in (cast.alice, cast.bob):
        [notice] = told(person)
        assert notice.title == "Request approved: Developers for Alice Engineer"
        assert "Approved by Erin Admin: “fine”" in notice.body, "the admin who decided, not 'governance admins'"
    assert told(cast.erin) == []


def test_expiry_says_nobody_decided_in_time(cast, alices_request, told):
    assert services.expire_stale_requests(now=timezone.now() + timedelta(days=settings.REQUEST_EXPIRY_DAYS + 1)) == 1

    tasks.request_decided(alices_request.pk)

    [notice] = told(cast.alice)
    assert notice.kind == Kind.REQUEST_EXPIRED
    assert notice.title == "Request expired: Developers for Alice Engineer"
    assert f"Nobody decided it within {settings.REQUEST_EXPIRY_DAYS} days" in notice.body


def test_a_retried_task_tells_nobody_twice(cast, alices_request, told):
    services.approve(request_id=alices_request.pk, actor=cast.bob)
    tasks.request_decided(alices_request.pk)

    assert tasks.request_decided(alices_request.pk) == 0
    assert len(told(cast.alice)) == 1


def test_pending_and_cancelled_requests_are_not_announced(cast, alices_request):
    assert tasks.request_decided(alices_request.pk) == 0

    services.cancel_request(request_id=alices_request.pk, actor=cast.alice)

    assert tasks.request_decided(alices_request.pk) == 0
    assert not Notification.objects.exists()
