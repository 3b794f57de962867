"""notifications.approval_needed: each assignee of an active stage is told once, admins stand in for nobody."""

from datetime import timedelta

from django.utils import timezone

from access import services
from access.models import Approval
from notifications import tasks
from notifications.models import Notification

from .conftest import GOOD_REASON

NEEDED = Notification.Kind.APPROVAL_NEEDED


def first_stage(access_request) -> Approval:
    return access_request.approvals.get(step=1)


def test_manager_is_told_a_step_waits_for_them(cast, alices_request, told):
    assert tasks.approval_needed(first_stage(alices_request).pk) == 1

    [notice] = told(cast.bob)
    assert notice.kind == NEEDED
    assert notice.title == "Approval needed: Developers for Alice Engineer"
    assert "Alice Engineer asks for Developers in Sandbox" in notice.body
    assert f"“{GOOD_REASON}”" in notice.body
    assert "Manager of Alice Engineer" in notice.body, "says why Bob was asked"
    assert notice.link == "/approvals/"
    assert (notice.about_stage, notice.about_request) == (first_stage(alices_request).pk, alices_request.pk)
    assert notice.read_at is None and notice.emailed_at is None
    assert told(cast.alice) == [] and told(cast.erin) == [], "only the assignee"


def test_sending_again_tells_nobody_twice(cast, alices_request, told):
    tasks.approval_needed(first_stage(alices_request).pk)

    assert tasks.approval_needed(first_stage(alices_request).pk) == 0
    assert len(told(cast.bob)) == 1


def test_stage_for_governance_admins_tells_every_admin_but_the_requester(cast, sandbox, grace, told, django_user_model):
    django_user_model.objects.create_user(
        email="old-admin@example.com", full_name="Old Admin", is_superuser=True, is_active=False
    )
    # Erin has no manager, so her request falls to the governance admins, of whom she is one.
    erins_request = services.submit_request(
        requester=cast.erin, entitlement=sandbox.developers, justification=GOOD_REASON
    )
    assert first_stage(erins_request).assignments.get().approver is None

    tasks.approval_needed(first_stage(erins_request).pk)

    assert Notification.objects.filter(kind=NEEDED).count() == 1, "Grace only: not Erin, not the inactive admin"
    [notice] = told(grace)
    assert notice.title == "Approval needed: Developers for Erin Admin"
    assert "Governance admins" in notice.body


def test_admin_stage_skips_the_beneficiary_too(cast, grace, entitlement, told):
    # Erin asks for Grace: the only admins are the requester and the beneficiary, so nobody is told.
    readonly = entitlement("ReadOnly")
    request_for_grace = services.submit_request(
        requester=cast.erin, beneficiary=grace, entitlement=readonly, justification=GOOD_REASON
    )

    assert tasks.approval_needed(first_stage(request_for_grace).pk) == 0
    assert told(cast.erin) == [] and told(grace) == []


def test_escalation_tells_only_the_people_it_adds(cast, alices_request, told):
    stage = first_stage(alices_request)
    tasks.approval_needed(stage.pk)

    # Bob decides nothing for two days; he has no manager and there is no fallback: admins are added.
    assert services.escalate_overdue_approvals(now=timezone.now() + timedelta(hours=49)) == 1
    tasks.approval_needed(stage.pk)

    assert len(told(cast.bob)) == 1, "Bob was told already"
    [notice] = told(cast.erin)
    assert notice.title == "Approval needed: Developers for Alice Engineer"
    assert "Escalated: no decision after 48 hours" in notice.body


def test_a_stage_decided_before_the_task_ran_is_not_announced(cast, alices_request, told):
    services.approve(request_id=alices_request.pk, actor=cast.bob)

    assert tasks.approval_needed(first_stage(alices_request).pk) == 0
    assert told(cast.bob) == []


def test_the_next_stage_is_announced_to_its_approvers(cast, sandbox, told):
    sandbox.developers.risk = sandbox.developers.Risk.MEDIUM
    sandbox.developers.save()
    two_stages = services.submit_request(
        requester=cast.alice, entitlement=sandbox.developers, justification=GOOD_REASON
    )
    services.approve(request_id=two_stages.pk, actor=cast.bob)

    tasks.approval_needed(two_stages.approvals.get(step=2).pk)

    [notice] = told(cast.carol)
    assert "Stage 2 (Entitlement owner)" in notice.body
    assert "Owner of Developers" in notice.body
