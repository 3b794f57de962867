"""Governance → Entitlements: the list, one entitlement's terms and the stages shown beside them."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from access.models import Grant
from audit.models import AuditEvent
from catalog.models import ApprovalPolicy, ApprovalStage, Entitlement

LIST = reverse("access:entitlements")


def edit_url(entitlement) -> str:
    return reverse("access:entitlement_edit", args=[entitlement.pk])


def stages_url(entitlement) -> str:
    return reverse("access:entitlement_stages", args=[entitlement.pk])


def form_of(entitlement, **changes) -> dict:
    data = {
        "owners": [str(pk) for pk in entitlement.owners.values_list("pk", flat=True)],
        "risk": entitlement.risk,
        "max_duration_days": entitlement.max_duration_days or "",
        "approval_policy": entitlement.approval_policy_id or "",
    }
    if entitlement.requestable:
        data["requestable"] = "on"
    data.update(changes)
    return data


@pytest.fixture
def security_review(cast):
    policy = ApprovalPolicy.objects.create(name="Security review")
    ApprovalStage.objects.create(policy=policy, order=1, approvers=ApprovalStage.Approvers.MANAGER)
    ApprovalStage.objects.create(policy=policy, order=2, approvers=ApprovalStage.Approvers.OWNERS)
    named = ApprovalStage.objects.create(policy=policy, order=3, approvers=ApprovalStage.Approvers.NAMED)
    named.named_approvers.set([cast.dave])
    return policy


def test_the_list_shows_every_entitlement_with_its_owners_risk_and_holders(client_for, cast, sandbox):
    Grant.objects.create(user=cast.alice, entitlement=sandbox.developers, source=Grant.Source.ADMIN)
    Grant.objects.create(user=cast.bob, entitlement=sandbox.developers, source=Grant.Source.ADMIN)
    Grant.objects.create(user=cast.dave, entitlement=sandbox.developers, source=Grant.Source.ADMIN, desired="absent")

    page = client_for(cast.erin).get(LIST)

    assert page.status_code == 200
    rows = {entitlement: entitlement.holders for entitlement in page.context["rows"]}
    assert rows[sandbox.developers] == 2  # the ended grant is nobody's holding
    assert rows[sandbox.breakglass] == 0  # not requestable, listed all the same
    assert b"Carol Owner" in page.content and b"Import from AWS" in page.content


@pytest.mark.parametrize(
    ("query", "names"),
    [
        ({"q": "glass"}, ["Break-glass admins"]),
        ({"risk": "low"}, ["Developers"]),
        ({"requestable": "no"}, ["Break-glass admins"]),
        ({"kind": "iam_role"}, []),
        ({"account": "987654321"}, None),  # not an account: the filter says so, nothing breaks
    ],
)
def test_search_and_filters(client_for, cast, sandbox, query, names):
    page = client_for(cast.frank).get(LIST, query)
    assert page.status_code == 200
    if names is not None:
        assert [entitlement.name for entitlement in page.context["rows"]] == names


def test_the_list_runs_the_same_queries_for_3_and_60_entitlements(client_for, cast, sandbox):
    client = client_for(cast.erin)

    def entitlements(count):
        for n in range(Entitlement.objects.count(), count):
            entitlement = Entitlement.objects.create(account=sandbox.account, aws_name=f"Group{n}", name=f"Group {n}")
            entitlement.owners.set([cast.carol, cast.bob])
            Grant.objects.create(user=cast.alice, entitlement=entitlement, source=Grant.Source.ADMIN)
        client.get(LIST)
        with CaptureQueriesContext(connection) as queries:
            assert client.get(LIST).status_code == 200
        return len(queries)

    assert entitlements(3) == entitlements(60)


def test_the_edit_page_shows_the_stages_of_the_policy(client_for, cast, sandbox, security_review):
    sandbox.developers.approval_policy = security_review
    sandbox.developers.save()

    page = client_for(cast.erin).get(edit_url(sandbox.developers))

    assert page.status_code == 200
    stages = [(stage.label, stage.who) for stage in page.context["outline"].stages]
    assert stages == [
        ("Requester's manager", "or the next one up when they may not decide"),
        ("Entitlement owner", "Carol Owner"),
        ("Named approver", "Dave Othermanager"),
    ]
    assert b"Save" in page.content


def test_the_stages_follow_the_picker_before_anything_is_saved(client_for, cast, sandbox, security_review):
    query = form_of(sandbox.developers, approval_policy=security_review.pk, owners=[cast.carol.pk, cast.bob.pk])
    fragment = client_for(cast.erin).get(stages_url(sandbox.developers), query, HTTP_HX_REQUEST="true")

    assert fragment.status_code == 200
    assert "Bob Manager, Carol Owner" in fragment.content.decode()
    assert "Security review" in fragment.content.decode()
    assert Entitlement.objects.get(pk=sandbox.developers.pk).approval_policy is None


def test_edit_and_stages_pages_run_the_same_queries_for_1_and_15_owners(
    client_for, cast, sandbox, security_review, django_user_model
):
    client = client_for(cast.erin)
    developers = sandbox.developers
    developers.approval_policy = security_review
    developers.save()

    def visit():
        counts = []
        for url in (edit_url(developers), stages_url(developers)):
            client.get(url)
            with CaptureQueriesContext(connection) as queries:
                assert client.get(url, form_of(developers) if "stages" in url else None).status_code == 200
            counts.append(len(queries))
        return counts

    few = visit()
    for n in range(14):
        developers.owners.add(
            django_user_model.objects.create_user(email=f"owner{n}@example.com", full_name=f"Owner {n}")
        )
    assert visit() == few


def test_saving_changes_the_terms_and_says_so(client_for, cast, sandbox, security_review):
    client = client_for(cast.erin)
    data = form_of(
        sandbox.developers,
        owners=[cast.carol.pk, cast.bob.pk],
        risk="high",
        max_duration_days=30,
        approval_policy=security_review.pk,
    )
    data.pop("requestable")

    response = client.post(edit_url(sandbox.developers), data, follow=True)

    assert b"Developers is saved." in response.content
    developers = Entitlement.objects.get(pk=sandbox.developers.pk)
    assert (developers.risk, developers.requestable, developers.max_duration_days) == ("high", False, 30)
    assert set(developers.owners.all()) == {cast.carol, cast.bob}
    assert AuditEvent.objects.filter(action="catalog.entitlement_changed", actor=cast.erin).count() == 1


@pytest.mark.parametrize(
    ("changes", "words"),
    [
        ({"max_duration_days": "0"}, "greater than or equal to 1"),
        ({"max_duration_days": "99999"}, "less than or equal to 3650"),
        ({"max_duration_days": "ten"}, "Enter a whole number"),
        ({"risk": "extreme"}, "Select a valid choice"),
        ({"owners": ["9" * 19]}, "too large"),
        ({"owners": ["²"]}, "Select a valid choice"),
        ({"approval_policy": "987654321"}, "Select a valid choice"),
        ({"owners": [], "risk": "high"}, "choose at least one owner"),
    ],
)
def test_bad_values_are_refused_in_words_and_change_nothing(client_for, cast, sandbox, changes, words):
    response = client_for(cast.erin).post(edit_url(sandbox.developers), form_of(sandbox.developers, **changes))

    assert response.status_code == 400
    assert words in response.content.decode()
    developers = Entitlement.objects.get(pk=sandbox.developers.pk)
    assert (developers.risk, list(developers.owners.all())) == ("low", [cast.carol])
    assert not AuditEvent.objects.filter(action="catalog.entitlement_changed").exists()


def test_auditors_read_the_terms_without_controls_and_cannot_save(client_for, cast, sandbox):
    client = client_for(cast.frank)
    page = client.get(edit_url(sandbox.developers))
    assert page.status_code == 200
    assert b'type="submit"' not in page.content.split(b"<main")[1]
    assert all(field.disabled for field in page.context["form"].fields.values())
    response = client.post(edit_url(sandbox.developers), form_of(sandbox.developers, risk="high"))
    assert response.status_code == 403
    assert Entitlement.objects.get(pk=sandbox.developers.pk).risk == "low"


@pytest.mark.parametrize("who", ["alice", "bob", "carol"])
def test_everyone_else_is_refused_the_section(client_for, cast, sandbox, who):
    client = client_for(getattr(cast, who))
    assert client.get(LIST).status_code == 403
    assert client.get(edit_url(sandbox.developers)).status_code == 403
    assert client.post(edit_url(sandbox.developers), form_of(sandbox.developers, risk="high")).status_code == 403
    assert Entitlement.objects.get(pk=sandbox.developers.pk).risk == "low"
