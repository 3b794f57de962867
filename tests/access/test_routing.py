"""Approval policies: ordered stages, any/all/N of, defaults by risk, and nobody deciding their own request."""

import pytest

from access import services
from access.models import AccessRequest, Grant
from access.routing import plan_approvals
from audit.models import AuditEvent
from catalog.models import ApprovalPolicy, ApprovalStage, Entitlement

GOOD_REASON = "Deploying the billing service for the Q4 release"


def stage_people(plan) -> list[tuple[str, int, list]]:
    return [(stage.label, stage.required, [item.approver for item in stage.assignments]) for stage in plan.stages]


@pytest.fixture
def policy(db):
    def build(*stages, **options):
        made = ApprovalPolicy.objects.create(name=f"Policy {ApprovalPolicy.objects.count() + 1}", **options)
        for order, (approvers, mode, required, named) in enumerate(stages, start=1):
            stage = ApprovalStage.objects.create(
                policy=made, order=order, approvers=approvers, mode=mode, required=required
            )
            stage.named_approvers.set(named)
        return made

    return build


def test_built_in_defaults_follow_risk(cast, sandbox):
    sandbox.developers.owners.set([cast.carol, cast.dave])
    assert stage_people(plan_approvals(sandbox.developers, cast.alice, cast.alice)) == [("Manager", 1, [cast.bob])]

    sandbox.developers.risk = Entitlement.Risk.HIGH
    plan = plan_approvals(sandbox.developers, cast.alice, cast.alice)

    assert stage_people(plan) == [("Manager", 1, [cast.bob]), ("Entitlement owner", 1, [cast.carol, cast.dave])]
    assert plan.policy_name == "Built-in default for high risk"


def test_policy_for_a_risk_level_is_the_default_and_an_entitlement_can_override_it(cast, sandbox, policy):
    policy((ApprovalStage.Approvers.OWNERS, "any", 1, []), default_for_risk="low")
    assert stage_people(plan_approvals(sandbox.developers, cast.alice, cast.alice)) == [
        ("Entitlement owner", 1, [cast.carol])
    ]

    sandbox.developers.approval_policy = policy((ApprovalStage.Approvers.NAMED, "any", 1, [cast.dave]))

    assert stage_people(plan_approvals(sandbox.developers, cast.alice, cast.alice)) == [
        ("Named approver", 1, [cast.dave])
    ]


def test_all_of_and_n_of_stages_count_the_people(cast, sandbox, policy):
    sandbox.developers.owners.set([cast.carol, cast.dave, cast.erin])
    sandbox.developers.approval_policy = policy(
        (ApprovalStage.Approvers.OWNERS, "all", 1, []), (ApprovalStage.Approvers.OWNERS, "n_of", 2, [])
    )

    plan = plan_approvals(sandbox.developers, cast.alice, cast.alice)

    assert [stage.required for stage in plan.stages] == [3, 2]


def test_all_of_stage_needs_every_owner(cast, sandbox, policy):
    sandbox.developers.owners.set([cast.carol, cast.dave])
    sandbox.developers.approval_policy = policy((ApprovalStage.Approvers.OWNERS, "all", 1, []))
    sandbox.developers.save()
    access_request = services.submit_request(
        requester=cast.alice, entitlement=sandbox.developers, justification=GOOD_REASON
    )

    services.approve(request_id=access_request.pk, actor=cast.carol)
    assert AccessRequest.objects.get(pk=access_request.pk).state == AccessRequest.State.PENDING
    services.approve(request_id=access_request.pk, actor=cast.dave)

    assert AccessRequest.objects.get(pk=access_request.pk).state == AccessRequest.State.APPROVED


def test_manager_requesting_for_a_report_passes_to_the_managers_manager(cast, sandbox):
    cast.bob.manager = cast.dave
    cast.bob.save()

    plan = plan_approvals(sandbox.developers, cast.bob, cast.alice)

    assert stage_people(plan) == [("Manager", 1, [cast.dave])]
    assert plan.stages[0].assignments[0].reason == "Manager higher up: Bob Manager may not decide"


def test_owner_requesting_their_own_entitlement_passes_to_another_owner(cast, sandbox):
    sandbox.developers.owners.set([cast.carol, cast.dave])
    sandbox.developers.risk = Entitlement.Risk.MEDIUM
    cast.carol.manager = cast.bob
    cast.carol.save()

    plan = plan_approvals(sandbox.developers, cast.carol, cast.carol)

    assert stage_people(plan) == [("Manager", 1, [cast.bob]), ("Entitlement owner", 1, [cast.dave])]


def test_sole_owner_requesting_passes_to_the_fallback_approver_then_admins(cast, sandbox, policy):
    sandbox.developers.approval_policy = policy(
        (ApprovalStage.Approvers.OWNERS, "any", 1, []), fallback_approver=cast.dave
    )

    plan = plan_approvals(sandbox.developers, cast.carol, cast.carol)
    assert stage_people(plan) == [("Entitlement owner", 1, [cast.dave])]
    assert plan.stages[0].assignments[0].reason == "Fallback approver: no owner of Developers may decide"

    plan = plan_approvals(sandbox.developers, cast.dave, cast.carol)
    assert stage_people(plan) == [("Entitlement owner", 1, [None])], "the fallback is the requester: admins"


def test_leaver_manager_is_skipped(cast, sandbox):
    cast.bob.employment_status = cast.bob.EmploymentStatus.LEAVER
    cast.bob.manager = cast.dave
    cast.bob.save()

    assert stage_people(plan_approvals(sandbox.developers, cast.alice, cast.alice)) == [("Manager", 1, [cast.dave])]


def test_auto_approval_applies_to_low_risk_only_and_is_audited(cast, sandbox, policy):
    auto = policy((ApprovalStage.Approvers.MANAGER, "any", 1, []), auto_approve=True)
    sandbox.developers.approval_policy = auto
    sandbox.developers.save()

    access_request = services.submit_request(
        requester=cast.alice, entitlement=sandbox.developers, justification=GOOD_REASON
    )

    assert access_request.state == AccessRequest.State.APPROVED
    assert Grant.objects.get().user == cast.alice
    event = AuditEvent.objects.get(action="request.auto_approved")
    assert (event.actor, event.actor_label) == (None, "system:auto-approval")
    vote = access_request.approvals.get().assignments.get()
    assert vote.automatic and vote.decided_by is None

    high = Entitlement.objects.create(
        account=sandbox.account, aws_name="Admins", name="Admins", risk=Entitlement.Risk.HIGH, approval_policy=auto
    )
    high.owners.set([cast.carol])
    assert not plan_approvals(high, cast.alice, cast.alice).automatic


def test_missing_manager_routes_to_the_fallback_approver(cast, sandbox, policy):
    sandbox.developers.approval_policy = policy(
        (ApprovalStage.Approvers.MANAGER, "any", 1, []), fallback_approver=cast.dave
    )

    plan = plan_approvals(sandbox.developers, cast.carol, cast.carol)

    assert stage_people(plan) == [("Manager", 1, [cast.dave])]
    assert plan.stages[0].assignments[0].reason == "Fallback approver: Carol Owner has no manager who may decide"


def test_escalation_skips_a_leaver_fallback_approver(cast, sandbox, policy, settings):
    from datetime import timedelta

    from django.utils import timezone

    sandbox.developers.approval_policy = policy(
        (ApprovalStage.Approvers.MANAGER, "any", 1, []), fallback_approver=cast.carol
    )
    sandbox.developers.save()
    cast.carol.employment_status = cast.carol.EmploymentStatus.LEAVER
    cast.carol.save()
    access_request = services.submit_request(
        requester=cast.alice, entitlement=sandbox.developers, justification=GOOD_REASON
    )

    later = timezone.now() + timedelta(hours=settings.APPROVAL_ESCALATE_AFTER_HOURS + 1)
    assert services.escalate_overdue_approvals(now=later) == 1

    votes = access_request.approvals.get().assignments.order_by("id")
    assert [vote.approver for vote in votes] == [cast.bob, None], "a leaver is never asked: governance admins are"


def test_auditor_cannot_approve_as_manager(cast, sandbox, django_user_model):
    """Grace reports to Frank the auditor, who also owns Developers: the stages pass him by, up to Dave,
    and a vote given to him before he became an auditor is refused when he casts it."""
    from rest_framework.test import APIClient

    from access.models import ApprovalAssignment
    from access.routing import plan_sod_stage
    from inputs.refusals import NotAllowed

    grace = django_user_model.objects.create_user(email="grace@example.com", full_name="Grace", manager=cast.frank)
    sandbox.developers.owners.set([cast.frank, cast.carol])
    sandbox.developers.risk = Entitlement.Risk.MEDIUM
    sandbox.developers.save(update_fields=["risk"])

    access_request = services.submit_request(requester=grace, entitlement=sandbox.developers, justification=GOOD_REASON)

    manager, owners = access_request.approvals.order_by("step")
    assert [(a.approver, a.reason) for a in manager.assignments.all()] == [
        (cast.dave, "Manager higher up: Frank Finance may not decide")
    ]
    assert [a.approver for a in owners.assignments.all()] == [cast.carol]
    sod_stage = plan_sod_stage("Pay and approve", cast.frank, sandbox.developers, grace, grace)
    assert [a.approver for a in sod_stage.assignments] == [None], "an auditor owning an SoD rule grants no exception"

    # A vote from before Frank became an auditor: he may see the request, and may not decide it.
    ApprovalAssignment.objects.filter(approval=manager).update(approver=cast.frank)
    with pytest.raises(NotAllowed, match="Auditors read requests and decide none"):
        services.approve(request_id=access_request.pk, actor=cast.frank)
    api = APIClient()
    api.force_authenticate(cast.frank)
    answer = api.post(f"/api/requests/{access_request.pk}/approve/", {}, format="json")
    assert answer.status_code == 403 and "Auditors" in answer.json()["detail"]
    with pytest.raises(NotAllowed):
        services.deny(request_id=access_request.pk, actor=cast.frank)
    access_request.refresh_from_db()
    assert access_request.state == AccessRequest.State.PENDING
    assert not AuditEvent.objects.filter(action__in=["approval.approved", "request.denied"]).exists()
