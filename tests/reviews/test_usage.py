"""Usage evidence beside review lines: Access Advisor through the gateway (Stubber: moto lacks it)."""

import io
from datetime import UTC, datetime, timedelta

import pytest
from botocore.stub import Stubber
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from pypdf import PdfReader

from access.models import Grant
from iam.aws import gateway
from iam.aws.errors import TransientAwsError
from iam.aws.gateway import account_access
from iam.models import UnmanagedAccess
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


def test_when_aws_cannot_say_the_line_says_so_in_plain_words_in_page_csv_and_pdf(cast, sandbox, aws, launched):
    """moto has no Access Advisor: it answers an HTML error page, which botocore cannot parse."""
    gateway._clients.clear()

    collect(launched.pk)

    alice = line_of(cast.alice)
    expected = "Usage not available: AWS's answer could not be read (the endpoint may not offer Access Advisor)"
    assert alice.usage_evidence == expected and alice.recommendation == "undecided"
    erin = Client()
    erin.force_login(cast.erin)
    page = erin.get(reverse("reviews:queue", args=[launched.pk])).content.decode()
    csv_text = b"".join(erin.get(reverse("reviews:evidence", args=[launched.pk])).streaming_content).decode()
    pdf = PdfReader(io.BytesIO(erin.get(reverse("reviews:evidence_pdf", args=[launched.pk])).content))
    pdf_text = " ".join(" ".join(page.extract_text() for page in pdf.pages).split())
    assert "Usage not available: AWS&#x27;s answer could not be read" in page
    assert expected in csv_text and "Usage not available: AWS's answer could not be read" in pdf_text
    for text in (page, csv_text, pdf_text):
        assert "Unable to parse" not in text and "invalid XML" not in text and "Usage unknown" not in text


@pytest.mark.parametrize(
    ("code", "reason"),
    [
        ("AccessDenied", "the portal may not read Access Advisor in this account"),
        ("NoSuchEntity", "AWS has no IAM user of that name in this account"),
        ("SomethingNew", "AWS refused to say (its error code: SomethingNew)"),
    ],
)
def test_a_refusal_is_final_and_said_in_plain_words(cast, sandbox, launched, code, reason):
    gateway._clients.clear()
    with Stubber(gateway.iam_client(account_access(sandbox.account))) as stubber:
        for _ in range(2):
            stubber.add_client_error(
                "get_user", service_error_code=code, service_message="raw words", http_status_code=403
            )

        collect(launched.pk, final=False)
    gateway._clients.clear()

    evidence = line_of(cast.alice).usage_evidence
    assert evidence.startswith(f"Usage not available: {reason}") and "raw words" not in evidence


def test_a_throttled_answer_is_asked_again_not_recorded(cast, sandbox, launched):
    gateway._clients.clear()
    with Stubber(gateway.iam_client(account_access(sandbox.account))) as stubber:
        stubber.add_client_error("get_user", service_error_code="Throttling", http_status_code=400)
        advisor(stubber, "carol", [("s3", None)])

        with pytest.raises(TransientAwsError):
            collect(launched.pk, final=False)
        assert line_of(cast.alice).usage_evidence == "", "not stored as final"
        assert line_of(cast.carol).usage_evidence == "Never used what these permissions allow", "the others are read"

        advisor(stubber, "alice", [("s3", timezone.now() - timedelta(days=3))])
        assert collect(launched.pk, final=False) == 1, "only the line still waiting is asked again"
        stubber.assert_no_pending_responses()
    gateway._clients.clear()

    assert line_of(cast.alice).usage_evidence == "Last used 3 days ago"


def test_the_last_attempt_records_that_aws_was_too_busy(cast, sandbox, launched):
    gateway._clients.clear()
    with Stubber(gateway.iam_client(account_access(sandbox.account))) as stubber:
        stubber.add_client_error("get_user", service_error_code="Throttling", http_status_code=400)
        stubber.add_client_error("get_user", service_error_code="ServiceUnavailable", http_status_code=503)

        collect(launched.pk, final=True)
    gateway._clients.clear()

    assert line_of(cast.alice).usage_evidence == (
        "Usage not available: AWS was too busy to answer (throttled or unavailable) each time it was asked"
    )


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
