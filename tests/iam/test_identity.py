"""Which portal person an IAM user name belongs to: the reverse of the naming convention."""

import pytest
from django.urls import reverse

from access import services
from access.models import AccessRequest, Grant
from audit.models import AuditEvent
from iam.aws.identity import iam_user_name, people_by_email, people_by_iam_user_name
from inputs.refusals import Duplicate

GOOD_REASON = "Deploying the billing service for the Q4 release"


def test_people_are_found_by_their_email_local_part_or_their_override(cast):
    cast.dave.iam_user_name = "dave.ops"
    cast.dave.save(update_fields=["iam_user_name"])

    found = people_by_iam_user_name(["alice", "dave.ops", "dave", "legacy-ci"])

    assert found == {"alice": cast.alice.pk, "dave.ops": cast.dave.pk}


def test_a_local_part_with_characters_iam_refuses_is_found_under_its_iam_name(cast, django_user_model):
    person = django_user_model.objects.create_user(email="o'neil@example.com", full_name="Pat O'Neil")

    assert iam_user_name(person) == "o-neil"
    assert people_by_iam_user_name(["o-neil"]) == {"o-neil": person.pk}


def test_a_name_two_people_share_belongs_to_neither(cast, django_user_model):
    django_user_model.objects.create_user(email="alice@other.example", full_name="Another Alice")

    assert people_by_iam_user_name(["alice", "bob"]) == {"bob": cast.bob.pk}


def test_people_are_found_by_email_whatever_its_case(cast):
    assert people_by_email(["Carol@Example.com", "nobody@example.com"]) == {"carol@example.com": cast.carol.pk}


@pytest.fixture
def other_alice(cast, django_user_model):
    """Alice from the acquired company: same local part as Alice, Bob her manager too."""
    return django_user_model.objects.create_user(
        email="alice@acquired.example", full_name="Alice Acquired", manager=cast.bob
    )


def test_iam_user_name_collision_refused(cast, sandbox, other_alice, client_for):
    """Both Alices would be IAM user `alice` in the sandbox: refused when asked, approved or granted, on
    the pages and the API, before anything reaches AWS; a name of her own for the account resolves it."""
    from rest_framework.test import APIClient

    events = AuditEvent.objects.count()

    with pytest.raises(Duplicate, match="would be IAM user alice in Sandbox") as asked:
        services.submit_request(requester=other_alice, entitlement=sandbox.developers, justification=GOOD_REASON)
    with pytest.raises(Duplicate, match="would be IAM user alice"):
        services.grant_by_admin(
            actor=cast.erin, user=other_alice, entitlement=sandbox.developers, justification=GOOD_REASON
        )
    api = APIClient()
    api.force_authenticate(other_alice)
    answer = api.post(
        "/api/requests/", {"entitlement": sandbox.developers.pk, "justification": GOOD_REASON}, format="json"
    )
    page = client_for(cast.bob).post(
        reverse("access:request_new", args=[sandbox.developers.pk]),
        {"beneficiary": other_alice.pk, "justification": GOOD_REASON},
    )

    assert asked.value.status == 409 and "admin: IAM user names" in asked.value.message
    assert answer.status_code == 409 and "IAM user alice" in answer.json()["detail"]
    assert page.status_code == 409 and "IAM user alice" in page.content.decode()
    assert not AccessRequest.objects.exists() and not Grant.objects.exists()
    assert AuditEvent.objects.count() == events

    # Asked while Alice had a name of her own; the name given back before Bob approves: refused at approval.
    cast.alice.iam_user_name = "alice.engineer"
    cast.alice.save(update_fields=["iam_user_name"])
    pending = services.submit_request(requester=other_alice, entitlement=sandbox.developers, justification=GOOD_REASON)
    cast.alice.iam_user_name = ""
    cast.alice.save(update_fields=["iam_user_name"])
    with pytest.raises(Duplicate, match="would be IAM user alice"):
        services.approve(request_id=pending.pk, actor=cast.bob)
    pending.refresh_from_db()
    assert pending.state == AccessRequest.State.PENDING and not Grant.objects.exists()

    # The admin refuses an override that is someone else's name there, and takes one that is free.
    admin = client_for(cast.erin)
    add = reverse("admin:catalog_iamusername_add")
    taken = admin.post(add, {"account": sandbox.account.pk, "person": other_alice.pk, "name": "bob"})
    given = admin.post(add, {"account": sandbox.account.pk, "person": other_alice.pk, "name": "alice.acquired"})
    assert taken.status_code == 200 and "Another person is already known as bob in Sandbox" in taken.content.decode()
    assert given.status_code == 302
    assert AuditEvent.objects.filter(action="catalog.iamusername_created", actor=cast.erin).count() == 1
    services.approve(request_id=pending.pk, actor=cast.bob)
    assert Grant.objects.get().user == other_alice


def test_iam_user_name_override_used_by_sync(cast, sandbox, other_alice, aws, aws_direct, moto_server):
    """Alice Acquired is `alice.acquired` in the sandbox: the sync engine adds that user, the reconciler
    finds the grant there (no drift) and knows the user as her."""
    from catalog.models import IamUserName
    from iam.apply import sync
    from iam.models import UnmanagedAccess
    from iam.reconcile import reconcile

    IamUserName.objects.create(account=sandbox.account, person=other_alice, name="alice.acquired")
    aws_direct("iam").create_user(UserName="alice.acquired")
    assert iam_user_name(other_alice, sandbox.account) == "alice.acquired"
    assert iam_user_name(other_alice) == "alice", "elsewhere, the convention"
    request = services.submit_request(requester=other_alice, entitlement=sandbox.developers, justification=GOOD_REASON)
    services.approve(request_id=request.pk, actor=cast.bob)
    grant = Grant.objects.get()

    outcome = sync.sync_grant(grant.pk)

    iam = aws_direct("iam")
    assert outcome.result == "applied"
    assert [g["GroupName"] for g in iam.list_groups_for_user(UserName="alice.acquired")["Groups"]] == ["Developers"]
    assert iam.list_groups_for_user(UserName="alice")["Groups"] == [], "not Alice's user"
    run = reconcile.reconcile_account(sandbox.account.pk)
    assert (run.drift_found, run.missing_reapplied) == (0, 0)
    assert not UnmanagedAccess.objects.exists()
    assert people_by_iam_user_name(["alice.acquired", "alice"], sandbox.account) == {
        "alice.acquired": other_alice.pk,
        "alice": cast.alice.pk,
    }
    iam.add_user_to_group(GroupName="BreakGlass", UserName="alice.acquired")
    reconcile.reconcile_account(sandbox.account.pk)
    assert UnmanagedAccess.objects.get().person == other_alice
