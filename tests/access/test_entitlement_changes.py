"""Changing an entitlement's terms on the catalog console (access.services.entitlements.change_entitlement),
and the stages the console shows for them (access.routing.outline_stages)."""

import pytest

from access.routing import outline_stages, plan_approvals
from access.services.entitlements import CHANGED_ACTION, Terms, change_entitlement
from audit.models import AuditEvent
from catalog.models import ApprovalPolicy, ApprovalStage, Entitlement
from inputs.refusals import InvalidInput, NotAllowed, NotFound


def terms(entitlement, **changes) -> Terms:
    current = {
        "owner_ids": sorted(entitlement.owners.values_list("pk", flat=True)),
        "risk": entitlement.risk,
        "requestable": entitlement.requestable,
        "max_duration_days": entitlement.max_duration_days,
        "approval_policy_id": entitlement.approval_policy_id,
    }
    return Terms(**{**current, **changes})


def as_stored(entitlement) -> tuple:
    entitlement = Entitlement.objects.get(pk=entitlement.pk)
    owners = tuple(sorted(entitlement.owners.values_list("email", flat=True)))
    return (
        owners,
        entitlement.risk,
        entitlement.requestable,
        entitlement.max_duration_days,
        entitlement.approval_policy_id,
    )


@pytest.fixture
def security_review(cast):
    """Manager, then the owners, then Dave by name (the security team in this story)."""
    policy = ApprovalPolicy.objects.create(name="Security review")
    ApprovalStage.objects.create(policy=policy, order=1, approvers=ApprovalStage.Approvers.MANAGER)
    ApprovalStage.objects.create(policy=policy, order=2, approvers=ApprovalStage.Approvers.OWNERS, mode="all")
    named = ApprovalStage.objects.create(policy=policy, order=3, approvers=ApprovalStage.Approvers.NAMED)
    named.named_approvers.set([cast.dave])
    return policy


@pytest.fixture
def admins_only(db):
    policy = ApprovalPolicy.objects.create(name="Admins only")
    ApprovalStage.objects.create(policy=policy, order=1, approvers=ApprovalStage.Approvers.GOVERNANCE_ADMINS)
    return policy


def test_an_admin_changes_every_term_in_one_audited_event(cast, sandbox, security_review):
    developers = sandbox.developers
    change_entitlement(
        entitlement_id=developers.pk,
        actor=cast.erin,
        terms=terms(
            developers,
            owner_ids=[cast.carol.pk, cast.bob.pk],
            risk="high",
            requestable=False,
            max_duration_days=30,
            approval_policy_id=security_review.pk,
        ),
    )

    assert as_stored(developers) == (
        ("bob@example.com", "carol@example.com"),
        "high",
        False,
        30,
        security_review.pk,
    )
    event = AuditEvent.objects.get(action=CHANGED_ACTION)
    assert (event.actor, event.object_id) == (cast.erin, str(developers.pk))
    assert event.before == {
        "risk": "low",
        "requestable": True,
        "max_duration_days": None,
        "duration_unit": "days",
        "min_duration": 1,
        "max_duration_hours": None,
        "approval_policy": None,
        "owners": [cast.carol.pk],
    }
    assert event.after["owners"] == sorted([cast.carol.pk, cast.bob.pk])
    assert event.after["approval_policy"] == security_review.pk


def test_saving_the_same_terms_records_nothing(cast, sandbox):
    change_entitlement(entitlement_id=sandbox.developers.pk, actor=cast.erin, terms=terms(sandbox.developers))
    assert not AuditEvent.objects.filter(action=CHANGED_ACTION).exists()


@pytest.mark.parametrize("who", ["alice", "bob", "carol", "frank"])
def test_only_governance_admins_change_terms(cast, sandbox, who):
    before = as_stored(sandbox.developers)
    with pytest.raises(NotAllowed):
        change_entitlement(
            entitlement_id=sandbox.developers.pk, actor=getattr(cast, who), terms=terms(sandbox.developers, risk="high")
        )
    assert as_stored(sandbox.developers) == before


@pytest.mark.parametrize(
    ("changes", "field", "words"),
    [
        ({"max_duration_days": 0}, "max_duration_days", "between 1 and 3650 days"),
        ({"max_duration_days": 3651}, "max_duration_days", "between 1 and 3650 days"),
        ({"max_duration_days": -5}, "max_duration_days", "between 1 and 3650 days"),
        ({"risk": "extreme"}, "risk", "Choose a risk level"),
        ({"owner_ids": [987654321]}, "owners", "does not exist"),
        ({"owner_ids": list(range(1, 23))}, "owners", "at most 20 owners"),
        ({"approval_policy_id": 987654321}, "approval_policy", "does not exist"),
    ],
)
def test_bad_values_are_refused_in_words_and_change_nothing(cast, sandbox, changes, field, words):
    before = as_stored(sandbox.developers)
    with pytest.raises(InvalidInput) as refused:
        change_entitlement(
            entitlement_id=sandbox.developers.pk,
            actor=cast.erin,
            terms=terms(sandbox.developers, requestable=False, **changes),
        )
    assert (refused.value.field, words in refused.value.message) == (field, True)
    assert as_stored(sandbox.developers) == before
    assert not AuditEvent.objects.filter(action=CHANGED_ACTION).exists()


def test_a_policy_that_asks_owners_needs_an_owner(cast, sandbox, security_review):
    before = as_stored(sandbox.developers)
    with pytest.raises(InvalidInput, match="choose at least one owner") as refused:
        change_entitlement(
            entitlement_id=sandbox.developers.pk,
            actor=cast.erin,
            terms=terms(sandbox.developers, owner_ids=[], risk="high", approval_policy_id=security_review.pk),
        )
    assert refused.value.field == "owners"
    assert as_stored(sandbox.developers) == before  # neither the policy nor the risk was half-applied


def test_the_built_in_default_for_medium_risk_asks_owners_too(cast, sandbox):
    with pytest.raises(InvalidInput, match="choose at least one owner"):
        change_entitlement(
            entitlement_id=sandbox.developers.pk,
            actor=cast.erin,
            terms=terms(sandbox.developers, owner_ids=[], risk="medium"),
        )


def test_no_owner_is_fine_where_no_stage_asks_owners(cast, sandbox, admins_only):
    change_entitlement(
        entitlement_id=sandbox.developers.pk,
        actor=cast.erin,
        terms=terms(sandbox.developers, owner_ids=[], approval_policy_id=admins_only.pk),
    )
    assert as_stored(sandbox.developers)[0] == ()


def test_leavers_cannot_be_made_owners(cast, sandbox):
    cast.bob.is_active = False
    cast.bob.save(update_fields=["is_active"])
    with pytest.raises(InvalidInput, match="can no longer sign in"):
        change_entitlement(
            entitlement_id=sandbox.developers.pk,
            actor=cast.erin,
            terms=terms(sandbox.developers, owner_ids=[cast.bob.pk]),
        )


def test_an_automatic_policy_without_stages_is_for_low_risk_only(cast, sandbox):
    automatic = ApprovalPolicy.objects.create(name="Automatic", auto_approve=True)
    with pytest.raises(InvalidInput, match="low-risk entitlements only") as refused:
        change_entitlement(
            entitlement_id=sandbox.developers.pk,
            actor=cast.erin,
            terms=terms(sandbox.developers, risk="high", approval_policy_id=automatic.pk),
        )
    assert refused.value.field == "approval_policy"
    change_entitlement(
        entitlement_id=sandbox.developers.pk,
        actor=cast.erin,
        terms=terms(sandbox.developers, risk="low", approval_policy_id=automatic.pk),
    )


def test_an_entitlement_that_does_not_exist_is_not_found(cast, sandbox):
    with pytest.raises(NotFound):
        change_entitlement(entitlement_id=987654321, actor=cast.erin, terms=terms(sandbox.developers))


# --- the stages shown ------------------------------------------------------------------------------


def test_the_outline_names_each_stage_in_the_order_requests_meet_them(cast, sandbox, security_review):
    developers = sandbox.developers
    developers.approval_policy = security_review
    outline = outline_stages(developers, [cast.carol, cast.bob])

    assert outline.policy_name == "Security review"
    assert [(stage.number, stage.label, stage.who, stage.rule) for stage in outline.stages] == [
        (1, "Requester's manager", "or the next one up when they may not decide", "any one of them"),
        (2, "Entitlement owner", "Bob Manager, Carol Owner", "all of them"),
        (3, "Named approver", "Dave Othermanager", "any one of them"),
    ]


def test_the_outline_follows_the_same_route_as_a_real_request(cast, sandbox, security_review):
    developers = sandbox.developers
    developers.approval_policy = security_review
    developers.save()
    outline = outline_stages(developers, developers.owners.all())
    plan = plan_approvals(developers, cast.alice, cast.alice)
    assert [stage.label for stage in plan.stages] == ["Manager", "Entitlement owner", "Named approver"]
    assert len(outline.stages) == len(plan.stages)
    assert outline.policy_name == plan.policy_name


def test_without_a_policy_the_outline_is_the_default_for_the_risk(cast, sandbox):
    breakglass = sandbox.breakglass  # high risk, no policy: manager then owners
    outline = outline_stages(breakglass, breakglass.owners.all())
    assert outline.policy_name == "Built-in default for high risk"
    assert [stage.label for stage in outline.stages] == ["Requester's manager", "Entitlement owner"]
    assert outline.stages[1].who == "Erin Admin"
