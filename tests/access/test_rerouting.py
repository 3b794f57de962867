"""A mover's pending approvals follow their new manager, whoever reports the move (HR feed, SCIM, SSO)."""

import io

from django.core.management import call_command

from access import services
from access.models import AccessRequest, Approval, ApprovalAssignment
from accounts.models import User
from accounts.services import PersonRecord, upsert_person
from audit.models import AuditEvent
from catalog.models import Entitlement
from tests.conftest import tasks_queued

REASON = "Deploying the billing service for the Q4 release"
Decision = ApprovalAssignment.Decision


def move(person, manager, label="system:hr-feed"):
    record = PersonRecord(person.email, person.full_name, person.title, person.department, "", "active")
    return upsert_person(data=record, manager=manager, actor=None, actor_label=label)


def votes(stage: Approval) -> dict:
    return {vote.approver: vote.decision for vote in stage.assignments.all()}


def test_the_hr_feed_moving_alice_to_dave_asks_dave_instead_of_bob(tmp_path, cast, sandbox):
    pending = services.submit_request(requester=cast.alice, entitlement=sandbox.developers, justification=REASON)
    path = tmp_path / "hr.csv"
    path.write_text(
        "email,full_name,title,department,manager_email,status\n"
        "alice@example.com,Alice Engineer,Engineer,Engineering,dave@example.com,active\n"
    )

    with tasks_queued() as queued:
        call_command("import_people", str(path), stdout=io.StringIO())

    stage = pending.approvals.get()
    assert votes(stage) == {cast.bob: Decision.VOID, cast.dave: Decision.PENDING}
    assert ("notifications.approval_needed", [stage.pk]) in [(name, list(args)) for name, args in queued]
    event = AuditEvent.objects.get(action="approval.rerouted")
    assert event.actor_label == "system:hr-feed" and "Manager of Alice" in event.after["reason"]
    services.approve(request_id=pending.pk, actor=cast.dave)
    pending.refresh_from_db()
    assert pending.state == AccessRequest.State.APPROVED


def test_only_manager_stages_still_open_are_re_routed(cast, sandbox):
    medium = Entitlement.objects.create(account=sandbox.account, aws_name="Deployers", name="Deployers", risk="medium")
    medium.owners.set([cast.carol])
    two_stages = services.submit_request(requester=cast.alice, entitlement=medium, justification=REASON)
    decided = services.submit_request(requester=cast.alice, entitlement=sandbox.developers, justification=REASON)
    services.approve(request_id=decided.pk, actor=cast.bob)

    move(cast.alice, cast.dave)

    manager_stage, owner_stage = two_stages.approvals.order_by("step")
    assert votes(manager_stage) == {cast.bob: Decision.VOID, cast.dave: Decision.PENDING}
    assert votes(owner_stage) == {cast.carol: Decision.PENDING}, "owners are not the chart's to change"
    assert votes(decided.approvals.get()) == {cast.bob: Decision.APPROVED}, "a decision made stands"


def test_moving_back_asks_the_first_manager_again_and_a_manager_nobody_may_use_goes_to_admins(cast, sandbox):
    pending = services.submit_request(requester=cast.alice, entitlement=sandbox.developers, justification=REASON)
    stage = pending.approvals.get()
    move(cast.alice, cast.dave)
    move(cast.alice, cast.bob)
    assert votes(stage) == {cast.bob: Decision.PENDING, cast.dave: Decision.VOID}

    # Frank is an auditor and has no manager above him: nobody in the chain may decide.
    move(cast.alice, User.objects.get(email="frank@example.com"))
    open_votes = stage.assignments.filter(decision=Decision.PENDING)
    assert [(vote.approver, vote.reason.split(":")[0]) for vote in open_votes] == [(cast.dave, "Manager higher up")]


def test_a_move_that_changes_no_manager_re_routes_nothing(cast, sandbox):
    services.submit_request(requester=cast.alice, entitlement=sandbox.developers, justification=REASON)
    cast.alice.title = "Staff Engineer"
    move(cast.alice, cast.bob)
    assert not AuditEvent.objects.filter(action="approval.rerouted").exists()
