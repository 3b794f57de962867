"""Usage evidence beside review lines: Access Advisor through the gateway (Stubber: moto lacks it)."""

from datetime import UTC, datetime, timedelta

import pytest
from botocore.stub import Stubber
from django.utils import timezone

from access.models import Grant
from iam import gateway
from iam.models import UnmanagedAccess
from iam.sync import account_access
from reviews import services
from reviews.models import Campaign, ReviewItem
from reviews.usage import collect

JOB = "examplef-1305-c245-eba4-71fe298bcda7"
CREATED = datetime(2025, 1, 1, tzinfo=UTC)


def advisor(stubber, user, services_used):
    """What Access Advisor answers for one user: (service, last used or None) pairs."""
    arn = f"arn:aws:iam::123456789012:user/{user}"
    user_id = f"AIDA{user.upper():0<16}"
    stubber.add_response(
        "get_user",
        {"User": {"Path": "/", "UserName": user, "UserId": user_id, "Arn": arn, "CreateDate": CREATED}},
        {"UserName": user},
    )
    stubber.add_response("generate_service_last_accessed_details", {"JobId": JOB}, {"Arn": arn})
    rows = []
    for name, when in services_used:
        row = {"ServiceName": name, "ServiceNamespace": name, "TotalAuthenticatedEntities": 1 if when else 0}
        if when:
            row["LastAuthenticated"] = when
        rows.append(row)
    answer = {
        "JobStatus": "COMPLETED",
        "JobCreationDate": CREATED,
        "JobCompletionDate": CREATED,
        "ServicesLastAccessed": rows,
        "IsTruncated": False,
    }
    stubber.add_response("get_service_last_accessed_details", answer, {"JobId": JOB})


@pytest.fixture
def launched(cast, sandbox, moto_server):
    for person in (cast.alice, cast.carol):
        Grant.objects.create(user=person, entitlement=sandbox.developers, source=Grant.Source.ADMIN)
    draft = Campaign.objects.create(
        name="Q4", owner=cast.erin, fallback_reviewer=cast.dave, due_at=timezone.now() + timedelta(days=14)
    )
    return services.launch(campaign_id=draft.pk, actor=cast.erin)


def line_of(person) -> ReviewItem:
    return ReviewItem.objects.get(holder=person)


def test_recent_use_is_shown_and_never_used_access_is_recommended_for_revoking(cast, sandbox, launched):
    gateway._clients.clear()
    recent = timezone.now() - timedelta(days=10)
    with Stubber(gateway.iam_client(account_access(sandbox.account))) as stubber:
        advisor(stubber, "alice", [("s3", recent), ("ec2", None)])
        advisor(stubber, "carol", [("s3", None)])

        assert collect(launched.pk) == 2
        stubber.assert_no_pending_responses()
    gateway._clients.clear()

    alice, carol = line_of(cast.alice), line_of(cast.carol)
    assert (alice.usage_evidence, alice.recommendation) == ("Last used 10 days ago", "undecided")
    assert (carol.usage_evidence, carol.recommendation, carol.recommendation_reason) == (
        "Never used what these permissions allow",
        "revoke",
        "Never used what these permissions allow",
    )


def test_when_aws_cannot_say_the_line_says_so_and_keeps_its_recommendation(cast, sandbox, launched):
    """moto has no Access Advisor: the real answer of an account without it."""
    gateway._clients.clear()

    collect(launched.pk)

    alice = line_of(cast.alice)
    assert alice.usage_evidence.startswith("Usage unknown: ") and alice.recommendation == "undecided"


def test_unmanaged_access_of_no_portal_person_is_read_for_its_aws_principal(cast, sandbox, moto_server):
    now = timezone.now()
    UnmanagedAccess.objects.create(
        account=sandbox.account,
        kind="iam_group",
        aws_principal="mallory",
        aws_name="Developers",
        entitlement=sandbox.developers,
        first_seen=now,
        last_seen=now,
    )
    draft = Campaign.objects.create(
        name="Q4", owner=cast.erin, fallback_reviewer=cast.dave, due_at=timezone.now() + timedelta(days=14)
    )
    launched = services.launch(campaign_id=draft.pk, actor=cast.erin)
    gateway._clients.clear()
    with Stubber(gateway.iam_client(account_access(sandbox.account))) as stubber:
        advisor(stubber, "mallory", [("s3", now - timedelta(days=200))])

        assert collect(launched.pk) == 1
        stubber.assert_no_pending_responses()
    gateway._clients.clear()

    mallory = ReviewItem.objects.get(campaign=launched, aws_principal="mallory")
    assert mallory.usage_evidence == "Last used 200 days ago"
    assert mallory.recommendation_reason == "Held by an AWS principal that is no portal person", "the stronger reason"
