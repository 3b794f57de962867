"""notifications.send_pending_emails: everything is emailed once, as a digest from the threshold up."""

from smtplib import SMTPRecipientsRefused

import pytest
from django.conf import settings
from django.core import mail
from django.core.mail.backends.base import BaseEmailBackend

from access import services
from notifications import tasks
from notifications.models import Notification

from .conftest import GOOD_REASON


class RefusingBackend(BaseEmailBackend):
    """A mail server that refuses every message."""

    def send_messages(self, email_messages):
        raise SMTPRecipientsRefused({"bob@example.com": (550, b"mailbox unavailable")})


@pytest.fixture(autouse=True)
def site(settings):
    settings.SITE_URL = "https://access.example.com"
    settings.NOTIFICATION_DIGEST_THRESHOLD = 3


@pytest.fixture
def waiting_for_bob(cast, entitlement):
    """Make Alice ask for `count` entitlements, so `count` approval notices wait for Bob."""

    def ask(count: int) -> None:
        for number in range(count):
            access_request = services.submit_request(
                requester=cast.alice, entitlement=entitlement(f"Team{number}"), justification=GOOD_REASON
            )
            tasks.approval_needed(access_request.approvals.get(step=1).pk)

    return ask


def html_of(message) -> str:
    [(content, mimetype)] = message.alternatives
    assert mimetype == "text/html"
    return content


def test_below_the_threshold_each_notification_is_its_own_email(cast, waiting_for_bob):
    waiting_for_bob(2)

    assert tasks.send_pending_emails() == 2

    first, second = mail.outbox
    assert first.subject == "Approval needed: Team0 for Alice Engineer"
    assert second.subject == "Approval needed: Team1 for Alice Engineer"
    assert first.to == ["Bob Manager <bob@example.com>"]
    assert first.from_email == settings.DEFAULT_FROM_EMAIL
    assert "Hello Bob," in first.body
    assert GOOD_REASON in first.body
    assert "Open in the portal: https://access.example.com/approvals/" in first.body
    html = html_of(first)
    assert 'href="https://access.example.com/approvals/"' in html
    assert "Approval needed: Team0 for Alice Engineer" in html
    assert first.extra_headers["Auto-Submitted"] == "auto-generated"


def test_from_the_threshold_one_digest_lists_them_all(cast, waiting_for_bob):
    waiting_for_bob(3)

    assert tasks.send_pending_emails() == 1

    [digest] = mail.outbox
    assert digest.subject == "3 updates: Approval needed (3)"
    assert digest.to == ["Bob Manager <bob@example.com>"]
    for name in ("Team0", "Team1", "Team2"):
        assert f"Approval needed: {name} for Alice Engineer" in digest.body
        assert f"Approval needed: {name} for Alice Engineer" in html_of(digest)
    assert "See them all: https://access.example.com/notifications/" in digest.body


def test_each_person_is_counted_on_their_own(cast, alices_request, waiting_for_bob):
    waiting_for_bob(3)
    services.deny(request_id=alices_request.pk, actor=cast.bob, comment="use ReadOnly instead")
    tasks.request_decided(alices_request.pk)

    assert tasks.send_pending_emails() == 2

    to_alice, to_bob = sorted(mail.outbox, key=lambda message: message.to)
    assert to_alice.subject == "Request denied: Developers for Alice Engineer"
    assert "Denied by Bob Manager: “use ReadOnly instead”" in to_alice.body
    assert "“use ReadOnly instead”" in html_of(to_alice)
    assert to_bob.subject.startswith("3 updates")


def test_a_second_pass_sends_nothing(waiting_for_bob):
    waiting_for_bob(4)
    tasks.send_pending_emails()
    mail.outbox.clear()

    assert tasks.send_pending_emails() == 0
    assert mail.outbox == []
    assert not Notification.objects.filter(emailed_at__isnull=True).exists()


def test_emailing_leaves_notifications_unread_in_the_portal(waiting_for_bob):
    waiting_for_bob(1)

    tasks.send_pending_emails()

    assert Notification.objects.get().read_at is None


def test_an_email_the_server_refuses_is_sent_on_the_next_pass(settings, waiting_for_bob):
    waiting_for_bob(1)
    settings.EMAIL_BACKEND = f"{__name__}.RefusingBackend"

    assert tasks.send_pending_emails() == 0
    assert Notification.objects.get().emailed_at is None

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    assert tasks.send_pending_emails() == 1
    assert len(mail.outbox) == 1


def test_text_typed_by_people_is_escaped_in_html(cast, sandbox):
    access_request = services.submit_request(
        requester=cast.alice, entitlement=sandbox.developers, justification="<script>alert('hi')</script> for Q4"
    )
    tasks.approval_needed(access_request.approvals.get(step=1).pk)

    tasks.send_pending_emails()

    [message] = mail.outbox
    assert "<script>" not in html_of(message)
    assert "&lt;script&gt;" in html_of(message)
    assert "<script>alert('hi')</script>" in message.body, "the plain text part is not HTML-escaped"
