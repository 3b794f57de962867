"""Each place a separation-of-duties rule is enforced, with the words the person sees."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from access import services
from access.models import AccessRequest, Approval, Grant
from audit.models import AuditEvent
from inputs.refusals import InvalidInput, NotAllowed, SodBlocked
from sod.models import SodException, SodRule, SodViolation

REASON = "Month-end close for the payments team"
BLOCKED = (
    "Holding Approve payments with Create payments breaks rule 'Create and approve payments': "
    "one person could pay themselves"
)


def holds(cast, entitlement):
    access_request = services.submit_request(requester=cast.alice, entitlement=entitlement, justification=REASON)
    services.approve(request_id=access_request.pk, actor=cast.bob)
    return Grant.objects.get(user=cast.alice, entitlement=entitlement)


def test_a_block_rule_refuses_the_request_at_submission(cast, payments, payments_rule):
    payments_rule()
    holds(cast, payments["PaymentsCreate"])

    with pytest.raises(SodBlocked) as refused:
        services.submit_request(requester=cast.alice, entitlement=payments["PaymentsApprove"], justification=REASON)

    assert refused.value.message == BLOCKED and refused.value.status == 409
    assert not AccessRequest.objects.filter(entitlement=payments["PaymentsApprove"]).exists()


def test_the_request_page_shows_the_conflict_and_creates_nothing(client_for, cast, payments, payments_rule):
    payments_rule()
    holds(cast, payments["PaymentsCreate"])

    response = client_for(cast.alice).post(
        reverse("access:request_new", args=[payments["PaymentsApprove"].pk]), {"justification": REASON}
    )

    assert response.status_code == 409
    assert "breaks rule &#x27;Create and approve payments&#x27;" in response.content.decode()


def test_a_cart_holding_both_sides_is_refused(cast, payments, payments_rule):
    payments_rule()

    with pytest.raises(SodBlocked, match="breaks rule 'Create and approve payments'"):
        services.submit_cart(
            requester=cast.alice,
            beneficiary=cast.alice,
            justification=REASON,
            items=[services.CartItem(e) for e in payments.values()],
        )
    assert not AccessRequest.objects.exists()


def test_two_pending_requests_that_only_conflict_together_stop_the_second_approval(cast, payments, payments_rule):
    payments_rule()
    first = services.submit_request(requester=cast.alice, entitlement=payments["PaymentsCreate"], justification=REASON)
    second = services.submit_request(
        requester=cast.alice, entitlement=payments["PaymentsApprove"], justification=REASON
    )
    services.approve(request_id=first.pk, actor=cast.bob)
    events = AuditEvent.objects.count()

    with pytest.raises(SodBlocked) as refused:
        services.approve(request_id=second.pk, actor=cast.bob)

    assert refused.value.message == BLOCKED
    assert AccessRequest.objects.get(pk=second.pk).state == AccessRequest.State.PENDING
    assert AuditEvent.objects.count() == events, "the refused approval changed nothing"
    assert Grant.objects.filter(user=cast.alice).count() == 1


def test_an_exception_rule_adds_a_stage_for_its_owner(cast, payments, payments_rule):
    payments_rule(SodRule.Enforcement.EXCEPTION)
    holds(cast, payments["PaymentsCreate"])

    access_request = services.submit_request(
        requester=cast.alice, entitlement=payments["PaymentsApprove"], justification=REASON
    )

    stages = list(access_request.approvals.order_by("step"))
    assert [stage.label for stage in stages] == ["Manager", "Separation of duties: Create and approve payments"]
    assert stages[1].assignments.get().approver == cast.dave
    assert access_request.sod_findings == [BLOCKED]
    services.approve(request_id=access_request.pk, actor=cast.bob)

    with pytest.raises(InvalidInput, match="Describe the mitigating control"):
        services.approve(request_id=access_request.pk, actor=cast.dave)
    late = services.ExceptionTerms("Weekly review of payments by Finance", timezone.now() - timedelta(days=1))
    with pytest.raises(InvalidInput, match="must end in the future"):
        services.approve(request_id=access_request.pk, actor=cast.dave, exception=late)

    ends = timezone.now() + timedelta(days=30)
    services.approve(
        request_id=access_request.pk,
        actor=cast.dave,
        exception=services.ExceptionTerms("Weekly review of payments by Finance", ends),
    )

    exception = SodException.objects.get()
    assert (exception.user, exception.approved_by, exception.ends_at) == (cast.alice, cast.dave, ends)
    assert AccessRequest.objects.get(pk=access_request.pk).state == AccessRequest.State.APPROVED
    assert AuditEvent.objects.filter(action="sod.exception_granted", actor=cast.dave).exists()


def test_a_conflict_arising_between_submission_and_approval_adds_the_exception_stage(cast, payments, payments_rule):
    payments_rule(SodRule.Enforcement.EXCEPTION)
    second = services.submit_request(
        requester=cast.alice, entitlement=payments["PaymentsApprove"], justification=REASON
    )
    assert second.approvals.count() == 1, "no conflict yet"
    holds(cast, payments["PaymentsCreate"])

    services.approve(request_id=second.pk, actor=cast.bob)

    second.refresh_from_db()
    assert second.state == AccessRequest.State.PENDING
    added = second.approvals.get(step=2)
    assert (added.sod_rule.name, added.state) == ("Create and approve payments", Approval.State.PENDING)


def test_the_approver_sees_the_conflict_in_the_inbox(client_for, cast, payments, payments_rule):
    payments_rule(SodRule.Enforcement.EXCEPTION)
    holds(cast, payments["PaymentsCreate"])
    services.submit_request(requester=cast.alice, entitlement=payments["PaymentsApprove"], justification=REASON)

    page = client_for(cast.bob).get(reverse("access:inbox")).content.decode()

    assert "breaks rule &#x27;Create and approve payments&#x27;: one person could pay themselves" in page


def test_holding_both_is_found_as_a_violation_and_an_exception_covers_it(cast, payments, payments_rule):
    rule = payments_rule(SodRule.Enforcement.EXCEPTION)
    from sod.tasks import sod_recheck_user

    Grant.objects.create(user=cast.alice, entitlement=payments["PaymentsCreate"], source=Grant.Source.ADMIN)
    Grant.objects.create(user=cast.alice, entitlement=payments["PaymentsApprove"], source=Grant.Source.ADMIN)
    assert sod_recheck_user(cast.alice.pk) == 1

    violation = SodViolation.objects.get()
    assert (violation.rule, violation.user, violation.resolved_at, violation.exception) == (
        rule,
        cast.alice,
        None,
        None,
    )
    assert AuditEvent.objects.filter(action="sod.violation_found").count() == 1

    Grant.objects.filter(entitlement=payments["PaymentsApprove"]).update(desired=Grant.Desired.ABSENT)
    assert sod_recheck_user(cast.alice.pk) == 0
    violation.refresh_from_db()
    assert violation.resolved_at is not None


def test_admin_grants_are_checked_too(cast, payments, payments_rule):
    payments_rule()
    holds(cast, payments["PaymentsCreate"])

    with pytest.raises(SodBlocked, match="breaks rule 'Create and approve payments'"):
        services.grant_by_admin(
            actor=cast.erin,
            user=cast.alice,
            entitlement=payments["PaymentsApprove"],
            justification="Cover for Dave during his leave",
        )
    assert not Grant.objects.filter(entitlement=payments["PaymentsApprove"]).exists()


def test_admin_grant_with_an_exception_rule_needs_the_owner(cast, payments, payments_rule):
    payments_rule(SodRule.Enforcement.EXCEPTION)
    holds(cast, payments["PaymentsCreate"])

    with pytest.raises(SodBlocked, match="An exception from the rule's owner is needed"):
        services.grant_by_admin(
            actor=cast.erin,
            user=cast.alice,
            entitlement=payments["PaymentsApprove"],
            justification="Cover for Dave during his leave",
        )


def test_admin_grant_without_conflict_is_audited_as_such(cast, payments):
    grant = services.grant_by_admin(
        actor=cast.erin,
        user=cast.alice,
        entitlement=payments["PaymentsApprove"],
        justification="Cover for Dave during his leave",
    )

    assert (grant.source, grant.request, grant.sync_state) == (Grant.Source.ADMIN, None, Grant.SyncState.PENDING)
    assert AuditEvent.objects.get(action="grant.admin_granted").actor == cast.erin
    with pytest.raises(NotAllowed):
        services.grant_by_admin(
            actor=cast.bob,
            user=cast.alice,
            entitlement=payments["PaymentsCreate"],
            justification="Cover for Dave during his leave",
        )


def test_adopting_drift_is_checked_too(cast, payments, payments_rule):
    from iam.models import UnmanagedAccess
    from iam.reconcile import drift_actions

    payments_rule()
    holds(cast, payments["PaymentsCreate"])
    now = timezone.now()
    row = UnmanagedAccess.objects.create(
        account=payments["PaymentsApprove"].account,
        kind="iam_group",
        aws_principal="alice",
        aws_name="PaymentsApprove",
        person=cast.alice,
        entitlement=payments["PaymentsApprove"],
        first_seen=now,
        last_seen=now,
    )

    with pytest.raises(SodBlocked, match="breaks rule 'Create and approve payments'"):
        drift_actions.adopt(row.pk, cast.erin)

    row.refresh_from_db()
    assert row.state == UnmanagedAccess.State.OPEN
    assert not Grant.objects.filter(entitlement=payments["PaymentsApprove"]).exists()
