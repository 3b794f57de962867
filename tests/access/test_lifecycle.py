"""A request's and a grant's life: carts, on behalf, durations, cancel, extend, give back, and time."""

from datetime import timedelta

import pytest
from django.utils import timezone

from access import services
from access.models import AccessRequest, Approval, ApprovalAssignment, Grant
from audit.models import AuditEvent
from catalog.models import Entitlement
from inputs.refusals import Duplicate, InvalidInput, NotAllowed, NotFound, StaleState
from tests.conftest import tasks_queued

GOOD_REASON = "Deploying the billing service for the Q4 release"


@pytest.fixture
def readonly(cast, sandbox):
    entitlement = Entitlement.objects.create(
        account=sandbox.account,
        aws_name="ReadOnly",
        name="Read-only",
        risk=Entitlement.Risk.LOW,
        max_duration_days=30,
    )
    entitlement.owners.set([cast.carol])
    return entitlement


def applied(grant: Grant, when=None) -> Grant:
    """Record what the sync engine records when AWS shows the access (through its own service)."""
    work = services.claim_grant_for_sync(grant.pk)
    services.record_sync_success(work, evidence="read back")
    grant.refresh_from_db()
    return grant


def approved_grant(cast, entitlement, duration_days=None) -> Grant:
    access_request = services.submit_request(
        requester=cast.alice, entitlement=entitlement, justification=GOOD_REASON, duration_days=duration_days
    )
    services.approve(request_id=access_request.pk, actor=cast.bob)
    return Grant.objects.get(user=cast.alice, entitlement=entitlement)


class TestCart:
    def test_a_cart_makes_one_request_per_entitlement(self, cast, sandbox, readonly):
        created = services.submit_cart(
            requester=cast.alice,
            beneficiary=cast.alice,
            justification=GOOD_REASON,
            items=[services.CartItem(sandbox.developers), services.CartItem(readonly, 14)],
        )

        assert [(r.entitlement, r.duration_days) for r in created] == [(sandbox.developers, None), (readonly, 14)]
        assert created[0].cart == created[1].cart is not None

    def test_one_bad_item_refuses_the_whole_cart(self, cast, sandbox, readonly):
        with pytest.raises(InvalidInput, match="Break-glass admins cannot be requested"):
            services.submit_cart(
                requester=cast.alice,
                beneficiary=cast.alice,
                justification=GOOD_REASON,
                items=[services.CartItem(readonly, 7), services.CartItem(sandbox.breakglass)],
            )

        assert not AccessRequest.objects.exists()
        assert not AuditEvent.objects.exists()

    def test_an_empty_cart_is_refused(self, cast):
        with pytest.raises(InvalidInput, match="at least one entitlement"):
            services.submit_cart(requester=cast.alice, beneficiary=cast.alice, justification=GOOD_REASON, items=[])


class TestOnBehalf:
    def test_manager_requests_for_a_report(self, cast, sandbox):
        access_request = services.submit_request(
            requester=cast.bob, beneficiary=cast.alice, entitlement=sandbox.developers, justification=GOOD_REASON
        )

        assert (access_request.requester, access_request.beneficiary) == (cast.bob, cast.alice)
        vote = access_request.approvals.get().assignments.get()
        assert vote.approver is None, "Bob may not approve what he asked for; Bob has no manager: admins"

    def test_manager_of_another_team_cannot_request_for_alice(self, cast, sandbox):
        with pytest.raises(NotAllowed, match="for yourself and your direct reports only"):
            services.submit_request(
                requester=cast.dave, beneficiary=cast.alice, entitlement=sandbox.developers, justification=GOOD_REASON
            )

    def test_admin_requests_for_anyone(self, cast, sandbox):
        access_request = services.submit_request(
            requester=cast.erin, beneficiary=cast.alice, entitlement=sandbox.developers, justification=GOOD_REASON
        )

        assert access_request.beneficiary == cast.alice

    def test_nobody_requests_for_a_leaver(self, cast, sandbox):
        cast.alice.employment_status = cast.alice.EmploymentStatus.LEAVER
        cast.alice.save()

        with pytest.raises(InvalidInput, match="has left"):
            services.submit_request(
                requester=cast.bob, beneficiary=cast.alice, entitlement=sandbox.developers, justification=GOOD_REASON
            )


class TestDuration:
    def test_time_bound_entitlement_needs_a_duration_within_its_maximum(self, cast, readonly):
        with pytest.raises(InvalidInput, match="choose a duration of up to 30 days") as missing:
            services.submit_request(requester=cast.alice, entitlement=readonly, justification=GOOD_REASON)
        with pytest.raises(InvalidInput, match="at most 30 days"):
            services.submit_request(
                requester=cast.alice, entitlement=readonly, justification=GOOD_REASON, duration_days=31
            )
        assert missing.value.field == "duration_days"
        assert not AccessRequest.objects.exists()

    def test_duration_counts_from_when_the_access_is_active_in_aws(self, cast, readonly):
        grant = approved_grant(cast, readonly, duration_days=7)
        assert grant.expires_at is None, "not active yet, so the clock has not started"

        before = timezone.now()
        grant = applied(grant)

        assert before + timedelta(days=7) <= grant.expires_at <= timezone.now() + timedelta(days=7)


class TestCancel:
    def test_requester_cancels_a_pending_request(self, cast, sandbox):
        access_request = services.submit_request(
            requester=cast.alice, entitlement=sandbox.developers, justification=GOOD_REASON
        )

        services.cancel_request(request_id=access_request.pk, actor=cast.alice)

        access_request.refresh_from_db()
        assert access_request.state == AccessRequest.State.CANCELLED
        assert access_request.approvals.get().state == Approval.State.CLOSED
        assert not ApprovalAssignment.objects.filter(decision="pending").exists()
        with pytest.raises(StaleState, match="already cancelled"):
            services.cancel_request(request_id=access_request.pk, actor=cast.alice)
        with pytest.raises(StaleState):
            services.approve(request_id=access_request.pk, actor=cast.bob)

    def test_someone_else_cannot_cancel(self, cast, sandbox):
        access_request = services.submit_request(
            requester=cast.alice, entitlement=sandbox.developers, justification=GOOD_REASON
        )

        with pytest.raises(NotFound):
            services.cancel_request(request_id=access_request.pk, actor=cast.dave)


class TestExtendAndGiveBack:
    def test_extension_goes_through_approval_and_adds_to_the_end_date(self, cast, readonly):
        grant = applied(approved_grant(cast, readonly, duration_days=7))
        old_end = grant.expires_at

        extension = services.request_extension(
            requester=cast.alice,
            grant_id=grant.pk,
            duration_days=14,
            justification="The migration takes two more weeks",
        )
        grant.refresh_from_db()
        assert grant.expires_at == old_end, "nothing changes before approval"
        services.approve(request_id=extension.pk, actor=cast.bob)

        grant.refresh_from_db()
        assert grant.expires_at == old_end + timedelta(days=14)
        assert grant.sync_state == Grant.SyncState.APPLIED, "an extension needs no change in AWS"
        assert AuditEvent.objects.filter(action="grant.extended").count() == 1

    def test_only_time_bound_active_access_can_be_extended(self, cast, sandbox):
        grant = applied(approved_grant(cast, sandbox.developers))

        with pytest.raises(InvalidInput, match="Only active access with an end date"):
            services.request_extension(
                requester=cast.alice, grant_id=grant.pk, duration_days=7, justification=GOOD_REASON
            )

    def test_second_extension_while_one_is_pending_is_refused(self, cast, readonly):
        grant = applied(approved_grant(cast, readonly, duration_days=7))
        services.request_extension(requester=cast.alice, grant_id=grant.pk, duration_days=7, justification=GOOD_REASON)

        with pytest.raises(Duplicate):
            services.request_extension(
                requester=cast.alice, grant_id=grant.pk, duration_days=7, justification=GOOD_REASON
            )

    def test_extension_capped_by_maximum_from_first_activation(self, cast, readonly):
        """Read-only may be held 30 days: 20 approved, then extensions stack up to 30 from the first
        activation in AWS and no further, checked when asked and again when approved."""
        from rest_framework.test import APIClient

        from access.services.reconciliation import reapply_missing_grant

        grant = applied(approved_grant(cast, readonly, duration_days=20))
        first_active = grant.activated_at
        assert grant.expires_at == first_active + timedelta(days=20)
        # The reconciler finds it missing and the sync engine re-applies it: still counted from the first time.
        reapply_missing_grant(grant.pk, read_at=timezone.now() + timedelta(seconds=1), evidence="missing in AWS")
        grant = applied(grant)
        assert grant.activated_at == first_active

        def extend(days):
            return services.request_extension(
                requester=cast.alice, grant_id=grant.pk, duration_days=days, justification=GOOD_REASON
            )

        with pytest.raises(InvalidInput, match="at most 30 days from when it was first active") as too_long:
            extend(11)
        assert too_long.value.field == "duration_days"
        api = APIClient()
        api.force_authenticate(cast.alice)
        answer = api.post(f"/api/grants/{grant.pk}/extend/", {"duration_days": 11, "justification": GOOD_REASON})
        assert (answer.status_code, answer.json()["field"]) == (400, "duration_days")

        services.approve(request_id=extend(6).pk, actor=cast.bob)
        with pytest.raises(InvalidInput, match="extended at most 4 more days"):
            extend(5)
        services.approve(request_id=extend(4).pk, actor=cast.bob)
        grant.refresh_from_db()
        assert grant.expires_at == first_active + timedelta(days=30)
        with pytest.raises(InvalidInput, match="no further"):
            extend(1)

        # Asked within the maximum, approved after it was lowered: refused at approval, nothing changes.
        readonly.max_duration_days = 40
        readonly.save(update_fields=["max_duration_days"])
        pending = extend(10)
        readonly.max_duration_days = 35
        readonly.save(update_fields=["max_duration_days"])
        with pytest.raises(InvalidInput, match="at most 35 days"):
            services.approve(request_id=pending.pk, actor=cast.bob)
        pending.refresh_from_db()
        grant.refresh_from_db()
        assert pending.state == AccessRequest.State.PENDING
        assert grant.expires_at == first_active + timedelta(days=30)
        assert AuditEvent.objects.filter(action="grant.extended").count() == 2

    def test_holder_gives_access_back_and_it_is_queued_for_removal(self, cast, sandbox):
        grant = applied(approved_grant(cast, sandbox.developers))

        with tasks_queued() as queued:
            services.give_back(grant_id=grant.pk, actor=cast.alice)

        grant.refresh_from_db()
        assert (grant.desired, grant.sync_state, grant.end_reason) == (
            "absent",
            "pending",
            "Given back by Alice Engineer",
        )
        assert queued == [("iam.sync_grant", [grant.pk]), ("access.sod_recheck_user", [cast.alice.pk])]
        with pytest.raises(InvalidInput, match="already being removed"):
            services.give_back(grant_id=grant.pk, actor=cast.alice)

    def test_nobody_gives_back_someone_elses_access(self, cast, sandbox):
        grant = approved_grant(cast, sandbox.developers)

        with pytest.raises(NotFound):
            services.give_back(grant_id=grant.pk, actor=cast.bob)


class TestSchedules:
    def test_grants_past_their_end_are_set_absent(self, cast, readonly):
        grant = applied(approved_grant(cast, readonly, duration_days=7))

        assert services.expire_grants(now=timezone.now() + timedelta(days=6)) == 0
        assert services.expire_grants(now=timezone.now() + timedelta(days=8)) == 1

        grant.refresh_from_db()
        assert (grant.desired, grant.end_reason) == (Grant.Desired.ABSENT, "Expired")
        assert AuditEvent.objects.get(action="grant.expired").actor_label == "system:expiry"

    def test_holders_are_reminded_seven_days_and_one_day_before_the_end(self, cast, readonly):
        grant = applied(approved_grant(cast, readonly, duration_days=30))
        start = timezone.now()

        assert services.due_expiry_reminders(now=start + timedelta(days=20)) == []
        assert services.due_expiry_reminders(now=start + timedelta(days=24)) == [(grant.pk, 7)]
        assert services.due_expiry_reminders(now=start + timedelta(days=25)) == [], "not twice"
        assert services.due_expiry_reminders(now=start + timedelta(days=29, hours=12)) == [(grant.pk, 1)]

    def test_requests_with_no_decision_expire(self, cast, sandbox, settings):
        access_request = services.submit_request(
            requester=cast.alice, entitlement=sandbox.developers, justification=GOOD_REASON
        )

        assert (
            services.expire_stale_requests(now=timezone.now() + timedelta(days=settings.REQUEST_EXPIRY_DAYS - 1)) == 0
        )
        assert (
            services.expire_stale_requests(now=timezone.now() + timedelta(days=settings.REQUEST_EXPIRY_DAYS + 1)) == 1
        )

        access_request.refresh_from_db()
        assert access_request.state == AccessRequest.State.EXPIRED
        with pytest.raises(StaleState, match="already expired"):
            services.approve(request_id=access_request.pk, actor=cast.bob)

    def test_undecided_step_escalates_to_the_next_approver_in_the_chain(self, cast, sandbox, settings):
        cast.bob.manager = cast.dave
        cast.bob.save()
        access_request = services.submit_request(
            requester=cast.alice, entitlement=sandbox.developers, justification=GOOD_REASON
        )
        later = timezone.now() + timedelta(hours=settings.APPROVAL_ESCALATE_AFTER_HOURS + 1)

        assert services.escalate_overdue_approvals(now=later) == 1
        assert services.escalate_overdue_approvals(now=later) == 0, "once per interval"

        votes = access_request.approvals.get().assignments.order_by("id")
        assert [(vote.approver, vote.reason.split(" (")[-1]) for vote in votes] == [
            (cast.bob, "Manager of Alice Engineer"),
            (cast.dave, "manager of Bob Manager)"),
        ]
        services.approve(request_id=access_request.pk, actor=cast.dave)
        assert AccessRequest.objects.get(pk=access_request.pk).state == AccessRequest.State.APPROVED

        second = timezone.now() + timedelta(hours=2 * settings.APPROVAL_ESCALATE_AFTER_HOURS + 1)
        assert services.escalate_overdue_approvals(now=second) == 0, "decided: nothing to escalate"


class TestRetry:
    def test_admin_retries_a_failed_grant(self, cast, sandbox):
        grant = approved_grant(cast, sandbox.developers)
        services.record_sync_failure(services.claim_grant_for_sync(grant.pk), error="AWS refused (AccessDenied)")

        with tasks_queued() as queued:
            services.retry_grant(grant_id=grant.pk, actor=cast.erin)

        grant.refresh_from_db()
        assert grant.sync_state == Grant.SyncState.PENDING and queued == [("iam.sync_grant", [grant.pk])]
        assert AuditEvent.objects.filter(action="grant.retry", actor=cast.erin).exists()
        with pytest.raises(StaleState, match="nothing to retry"):
            services.retry_grant(grant_id=grant.pk, actor=cast.erin)

    def test_only_admins_retry(self, cast, sandbox):
        grant = approved_grant(cast, sandbox.developers)

        with pytest.raises(NotAllowed):
            services.retry_grant(grant_id=grant.pk, actor=cast.bob)


class TestLedgerRulesForAdmins:
    def test_no_direct_grant_or_adoption_for_a_leaver(self, cast, sandbox):
        from access.services.reconciliation import adopt_grant

        cast.alice.employment_status = cast.alice.EmploymentStatus.LEAVER
        cast.alice.save()

        with pytest.raises(InvalidInput, match="has left"):
            services.grant_by_admin(
                actor=cast.erin, user=cast.alice, entitlement=sandbox.developers, justification=GOOD_REASON
            )
        with pytest.raises(InvalidInput, match="has left"):
            adopt_grant(
                person=cast.alice, entitlement=sandbox.developers, actor=cast.erin, seen_at=timezone.now(), evidence="x"
            )
        assert not Grant.objects.exists()

    def test_a_direct_grant_keeps_to_the_entitlements_longest_duration(self, cast, readonly):
        for too_long in (None, 31):
            with pytest.raises(InvalidInput, match="30 days"):
                services.grant_by_admin(
                    actor=cast.erin,
                    user=cast.alice,
                    entitlement=readonly,
                    justification=GOOD_REASON,
                    duration_days=too_long,
                )
        assert not Grant.objects.exists()
