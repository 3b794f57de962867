"""Shared by the notification tests: Alice's request for Developers, extra people and entitlements."""

from datetime import timedelta

import pytest
from django.utils import timezone

from access import services
from catalog.models import Entitlement
from notifications.models import Notification

GOOD_REASON = "Deploying the billing service for Q4"


@pytest.fixture
def alices_request(cast, sandbox):
    """Pending, its only stage assigned to Bob (her manager)."""
    return services.submit_request(requester=cast.alice, entitlement=sandbox.developers, justification=GOOD_REASON)


@pytest.fixture
def grace(django_user_model):
    """A second governance admin, so admin stages have someone besides Erin."""
    return django_user_model.objects.create_user(
        email="grace@example.com", full_name="Grace Admin", is_staff=True, is_superuser=True
    )


@pytest.fixture
def entitlement(sandbox):
    """Make another low-risk entitlement in the sandbox (approved by the beneficiary's manager)."""

    def make(name: str) -> Entitlement:
        return Entitlement.objects.create(account=sandbox.account, aws_name=name, name=name, risk=Entitlement.Risk.LOW)

    return make


@pytest.fixture
def told(db):
    """What a person was told, oldest first (optionally of one kind)."""

    def notices(person, kind=None) -> list[Notification]:
        found = Notification.objects.filter(recipient=person).order_by("created_at", "pk")
        return list(found.filter(kind=kind) if kind else found)

    return notices


@pytest.fixture
def make_notifications(db):
    """Plain rows for page and email tests, where what they say matters less than how many."""

    def make(person, count: int, **fields) -> list[Notification]:
        now = timezone.now()
        return Notification.objects.bulk_create(
            Notification(
                recipient=person,
                kind=Notification.Kind.ACCESS_LIVE,
                title=f"Notice {number} for {person}",
                body="Your access to Notice is live in AWS.",
                link="/access/",
                created_at=now - timedelta(minutes=number),
                **fields,
            )
            for number in range(count)
        )

    return make
