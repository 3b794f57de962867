"""Access for hours, not days: an entitlement counted in hours is asked for, approved, counted from its
activation in AWS, ended on time by the expiry job, extended by hours within its maximum, and refused in
words when asked for the wrong unit or amount."""

from datetime import timedelta

import pytest
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from access import services
from access.models import AccessRequest, Grant
from access.services.entitlements import Terms, change_entitlement
from access.templatetags.countdown import left_in_words
from audit.models import AuditEvent
from catalog.models import Entitlement
from inputs.refusals import InvalidInput

GOOD_REASON = "Rotating the payment service's database credentials"


@pytest.fixture
def elevated(cast, sandbox):
    """Production admin for an hour or a shift: 1 to 8 hours."""
    entitlement = Entitlement.objects.create(
        account=sandbox.account,
        aws_name="ProdAdmin",
        name="Production admin",
        risk=Entitlement.Risk.LOW,
        duration_unit=Entitlement.DurationUnit.HOURS,
        min_duration=1,
        max_duration_hours=8,
    )
    entitlement.owners.set([cast.carol])
    return entitlement


def applied(grant: Grant) -> Grant:
    """What the sync engine records when AWS shows the access (through its own service)."""
    work = services.claim_grant_for_sync(grant.pk)
    services.record_sync_success(work, evidence="read back")
    grant.refresh_from_db()
    return grant


def hours_granted(cast, entitlement, hours: int) -> Grant:
    access_request = services.submit_request(
        requester=cast.alice, entitlement=entitlement, justification=GOOD_REASON, duration_hours=hours
    )
    services.approve(request_id=access_request.pk, actor=cast.bob)
    return Grant.objects.get(user=cast.alice, entitlement=entitlement)


class TestAskingForHours:
    def test_two_hours_are_counted_from_activation_and_end_on_time(self, cast, elevated):
        grant = hours_granted(cast, elevated, 2)
        assert (grant.duration_hours, grant.duration_days, grant.ends_at) == (2, None, None), "not active yet"

        grant = applied(grant)
        assert grant.expires_at == grant.activated_at + timedelta(hours=2), "fixed as AWS showed it active"
        assert grant.ends_at == grant.expires_at

        assert services.expire_grants(now=grant.activated_at + timedelta(hours=1, minutes=59)) == 0
        grant.refresh_from_db()
        assert grant.desired == Grant.Desired.PRESENT

        assert services.expire_grants(now=grant.activated_at + timedelta(hours=2)) == 1
        grant.refresh_from_db()
        assert (grant.desired, grant.end_reason) == (Grant.Desired.ABSENT, "Expired")
        applied_event = AuditEvent.objects.get(action="grant.applied", object_id=str(grant.pk))
        assert applied_event.after["expires_at"] == grant.expires_at.isoformat()

    def test_no_days_left_reminder_for_an_hour_grant(self, cast, elevated):
        grant = applied(hours_granted(cast, elevated, 2))
        services.expire_grants(now=grant.activated_at)
        assert services.due_expiry_reminders(now=grant.activated_at) == []

    def test_refusals_are_in_words(self, cast, sandbox, elevated):
        sandbox.developers.max_duration_days = 30
        sandbox.developers.save()
        cases = [
            (sandbox.developers, {"duration_hours": 2}, "Developers is granted in days, not hours."),
            (elevated, {"duration_days": 1}, "Production admin is granted in hours, not days."),
            (elevated, {}, "choose a duration of up to 8 hours"),
            (elevated, {"duration_hours": 9}, "can be held for at most 8 hours"),
            (elevated, {"duration_hours": 10**12}, "between 1 and 744 hours"),
            (elevated, {"duration_hours": 0}, "between 1 and 744 hours"),
        ]
        for entitlement, duration, message in cases:
            with pytest.raises(InvalidInput, match=message):
                services.submit_request(
                    requester=cast.alice, entitlement=entitlement, justification=GOOD_REASON, **duration
                )
        assert not AccessRequest.objects.exists()

    def test_below_the_minimum_is_refused(self, cast, elevated):
        elevated.min_duration = 2
        elevated.save()
        with pytest.raises(InvalidInput, match="granted for at least 2 hours") as refused:
            services.submit_request(
                requester=cast.alice, entitlement=elevated, justification=GOOD_REASON, duration_hours=1
            )
        assert refused.value.field == "duration_hours"

    def test_the_database_refuses_hours_and_days_together(self, cast, elevated):
        with pytest.raises(IntegrityError), transaction.atomic():
            AccessRequest.objects.create(
                requester=cast.alice,
                beneficiary=cast.alice,
                entitlement=elevated,
                justification=GOOD_REASON,
                duration_days=1,
                duration_hours=2,
            )


def test_erin_grants_hours_directly_and_they_count_from_activation(cast, elevated):
    grant = services.grant_by_admin(
        actor=cast.erin, user=cast.alice, entitlement=elevated, justification=GOOD_REASON, duration_hours=3
    )
    grant = applied(grant)
    assert grant.ends_at == grant.activated_at + timedelta(hours=3)
    with pytest.raises(InvalidInput, match="granted in hours, not days"):
        services.grant_by_admin(
            actor=cast.erin, user=cast.bob, entitlement=elevated, justification=GOOD_REASON, duration_days=1
        )


class TestExtendingByHours:
    def test_an_extension_adds_hours_after_approval(self, cast, elevated):
        grant = applied(hours_granted(cast, elevated, 2))
        services.expire_grants(now=grant.activated_at)  # fixes the end
        grant.refresh_from_db()
        end = grant.expires_at

        extension = services.request_extension(
            requester=cast.alice, grant_id=grant.pk, duration_hours=3, justification=GOOD_REASON
        )
        assert grant.expires_at == end, "nothing changes before approval"
        services.approve(request_id=extension.pk, actor=cast.bob)

        grant.refresh_from_db()
        assert grant.expires_at == end + timedelta(hours=3)

    def test_an_extension_is_capped_by_the_maximum_in_hours(self, cast, elevated):
        grant = applied(hours_granted(cast, elevated, 6))
        with pytest.raises(InvalidInput, match="at most 8 hours from when it was first active") as refused:
            services.request_extension(
                requester=cast.alice, grant_id=grant.pk, duration_hours=3, justification=GOOD_REASON
            )
        assert "so it can be extended at most 2 more hours" in refused.value.message
        with pytest.raises(InvalidInput, match="granted in hours, not days"):
            services.request_extension(
                requester=cast.alice, grant_id=grant.pk, duration_days=1, justification=GOOD_REASON
            )


class TestEntitlementTerms:
    def terms(self, entitlement, **changes):
        base = {
            "owner_ids": [entitlement.owners.get().pk],
            "risk": entitlement.risk,
            "requestable": True,
            "max_duration_days": None,
            "approval_policy_id": None,
            "duration_unit": "hours",
            "min_duration": 1,
            "max_duration_hours": 4,
        }
        return Terms(**{**base, **changes})

    def test_erin_makes_an_entitlement_hourly(self, cast, sandbox):
        changed = change_entitlement(
            entitlement_id=sandbox.developers.pk, actor=cast.erin, terms=self.terms(sandbox.developers)
        )
        assert (changed.duration_unit, changed.min_duration, changed.max_duration_hours) == ("hours", 1, 4)
        event = AuditEvent.objects.get(action="catalog.entitlement_changed")
        assert (event.before["duration_unit"], event.after["duration_unit"]) == ("days", "hours")

    @pytest.mark.parametrize(
        ("changes", "field"),
        [
            ({"max_duration_hours": None}, "max_duration_hours"),
            ({"min_duration": 5}, "min_duration"),
            ({"max_duration_days": 3}, "max_duration_days"),
            ({"duration_unit": "weeks"}, "duration_unit"),
            ({"duration_unit": "days", "max_duration_days": 3}, "max_duration_hours"),
        ],
    )
    def test_unsound_durations_are_refused_whole(self, cast, sandbox, changes, field):
        with pytest.raises(InvalidInput) as refused:
            change_entitlement(
                entitlement_id=sandbox.developers.pk, actor=cast.erin, terms=self.terms(sandbox.developers, **changes)
            )
        assert refused.value.field == field
        sandbox.developers.refresh_from_db()
        assert sandbox.developers.duration_unit == "days"

    def test_the_console_edits_the_unit_and_its_bounds(self, cast, sandbox, client_for):
        page = client_for(cast.erin)
        url = reverse("access:entitlement_edit", args=[sandbox.developers.pk])
        body = {"owners": [cast.carol.pk], "risk": "low", "requestable": "on", "duration_unit": "hours"}
        refused = page.post(url, {**body, "min_duration": 9, "max_duration_hours": 8})
        assert refused.status_code == 400
        assert "The minimum duration is at least 1 and at most the maximum (8 hours)." in refused.content.decode()

        page.post(url, {**body, "min_duration": 1, "max_duration_hours": 8})
        sandbox.developers.refresh_from_db()
        assert (sandbox.developers.duration_unit, sandbox.developers.max_duration_hours) == ("hours", 8)


class TestPages:
    def test_the_request_form_offers_hours_and_refuses_others_in_words(self, cast, elevated, client_for):
        page = client_for(cast.alice)
        url = reverse("access:request_new", args=[elevated.pk])
        form = page.get(url).content.decode()
        assert 'name="duration_hours"' in form and ">2 hours<" in form and ">8 hours<" in form

        for sent in ("9", "99999999999999999999", "1.5", "-2"):
            refused = page.post(url, {"duration_hours": sent, "justification": GOOD_REASON})
            assert refused.status_code == 400, sent
            assert "is-invalid" in refused.content.decode(), "a form error on the field"
        # NUL bytes are refused before any form sees them (inputs middleware), still in words and never a 500.
        refused = page.post(url, {"duration_hours": "2\x00", "justification": GOOD_REASON})
        assert refused.status_code == 400 and "Not accepted" in refused.content.decode()
        assert not AccessRequest.objects.exists()

        page.post(url, {"duration_hours": "2", "justification": GOOD_REASON})
        assert AccessRequest.objects.get().duration_hours == 2

    def test_my_access_counts_down_to_an_end_within_a_day(self, cast, elevated, client_for):
        grant = applied(hours_granted(cast, elevated, 2))
        # Active in AWS since 20 minutes ago: it ends in 1 h 40 min.
        activated = timezone.now() - timedelta(minutes=20)
        Grant.objects.filter(pk=grant.pk).update(activated_at=activated, expires_at=activated + timedelta(hours=2))

        page = client_for(cast.alice).get(reverse("access:my_access")).content.decode()

        assert 'data-testid="countdown"' in page and "ends at " in page
        assert "(<span data-time-left>in 1 h 40 min</span>)" in page
        assert "portal/countdown.js" in page
        assert "Give back Production admin" in page, "ending early is the give-back that exists"

    def test_my_access_costs_the_same_queries_however_many_hour_grants(self, cast, sandbox, client_for):
        def hourly(name):
            entitlement = Entitlement.objects.create(
                account=sandbox.account,
                aws_name=name,
                name=name,
                risk=Entitlement.Risk.LOW,
                duration_unit="hours",
                max_duration_hours=8,
            )
            entitlement.owners.set([cast.carol])
            return applied(hours_granted(cast, entitlement, 2))

        page = client_for(cast.alice)
        hourly("One")
        with CaptureQueriesContext(connection) as few:
            assert page.get(reverse("access:my_access")).status_code == 200
        for number in range(5):
            hourly(f"More{number}")
        with CaptureQueriesContext(connection) as many:
            assert page.get(reverse("access:my_access")).status_code == 200
        assert len(many) == len(few)


def test_the_countdown_words():
    assert [left_in_words(s) for s in (6000, 3600, 59, 1, 0)] == [
        "in 1 h 40 min",
        "in 1 h",
        "in 1 min",
        "in 1 min",
        "ending now",
    ]
