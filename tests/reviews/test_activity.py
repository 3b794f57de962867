"""CloudTrail beside each review line: what the holder did with the access in the last 90 days, read from the
account's log files in the simulated S3; a line not used at all is recommended for revoking, source CloudTrail,
beside Access Advisor's evidence with its own source."""

import csv
import io
import uuid
from datetime import timedelta

import boto3
import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from pypdf import PdfReader

from access.models import Grant
from iam.aws import gateway
from reviews import services
from reviews.models import Campaign, ReviewItem
from reviews.usage import collect_activity
from tests.iam.trail_files import iam_user_call, key_for, log_file


@pytest.fixture
def launched(cast, sandbox, moto_server):
    gateway._clients.clear()
    for person in (cast.alice, cast.carol):
        Grant.objects.create(user=person, entitlement=sandbox.developers, source=Grant.Source.ADMIN)
    draft = Campaign.objects.create(
        name="Q4", owner=cast.erin, fallback_reviewer=cast.dave, due_at=timezone.now() + timedelta(days=14)
    )
    yield services.launch(campaign_id=draft.pk, actor=cast.erin)
    gateway._clients.clear()


@pytest.fixture
def trail(moto_server, sandbox):
    s3 = boto3.client("s3", endpoint_url=moto_server, region_name="us-east-1")
    bucket = f"cloudtrail-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=bucket)
    sandbox.account.cloudtrail_bucket = bucket
    sandbox.account.save()
    return lambda records, when, body=None: s3.put_object(
        Bucket=bucket, Key=key_for(when), Body=body if body is not None else log_file(records)
    )


def line_of(person) -> ReviewItem:
    return ReviewItem.objects.get(holder=person)


def test_used_access_is_shown_and_unused_access_is_recommended_for_revoking_from_cloudtrail(cast, launched, trail):
    recently, long_ago = timezone.now() - timedelta(days=3), timezone.now() - timedelta(days=120)
    trail(
        [iam_user_call("alice", recently - timedelta(minutes=i), "s3.amazonaws.com", "GetObject") for i in range(36)]
        + [iam_user_call("alice", recently, "s3.amazonaws.com", "PutObject")],
        recently,
    )
    trail([iam_user_call("carol", long_ago, "s3.amazonaws.com", "GetObject")], long_ago)  # outside the window
    trail([], recently, body=b"garbage, not gzip")

    assert collect_activity(launched.pk) == 2

    alice, carol = line_of(cast.alice), line_of(cast.carol)
    assert alice.activity_evidence == "used 37 calls in the last 90 days: s3:GetObject, s3:PutObject"
    assert (alice.recommendation, alice.recommendation_source) == ("undecided", "")
    assert carol.activity_evidence == "not used in the last 90 days"
    assert (carol.recommendation, carol.recommendation_reason, carol.recommendation_source) == (
        "revoke",
        "Not used in the last 90 days",
        "cloudtrail",
    )
    erin = Client()
    erin.force_login(cast.erin)
    page = erin.get(reverse("reviews:queue", args=[launched.pk])).content.decode()
    assert "CloudTrail: used 37 calls in the last 90 days: s3:GetObject, s3:PutObject" in page
    assert "(source: CloudTrail)" in page


def test_without_a_trail_the_line_says_so_and_recommends_nothing(cast, launched):
    collect_activity(launched.pk)

    carol = line_of(cast.carol)
    assert (carol.activity_evidence, carol.recommendation) == (
        "CloudTrail is not configured for this account",
        "undecided",
    )


def test_a_bucket_that_is_not_there_is_said_in_words(cast, sandbox, launched, moto_server):
    sandbox.account.cloudtrail_bucket = f"missing-{uuid.uuid4().hex[:12]}"
    sandbox.account.save()

    collect_activity(launched.pk)

    evidence = line_of(cast.alice).activity_evidence
    assert evidence == "CloudTrail could not be read: the account's CloudTrail bucket does not exist"
    assert line_of(cast.alice).recommendation == "undecided"


def test_the_evidence_packs_say_what_was_done_and_where_the_recommendation_came_from(cast, launched, trail):
    recently = timezone.now() - timedelta(days=3)
    trail(
        [iam_user_call("alice", recently - timedelta(minutes=i), "s3.amazonaws.com", "GetObject") for i in range(36)]
        + [iam_user_call("alice", recently, "s3.amazonaws.com", "PutObject")],
        recently,
    )
    collect_activity(launched.pk)
    erin = Client()
    erin.force_login(cast.erin)

    csv_text = b"".join(erin.get(reverse("reviews:evidence", args=[launched.pk])).streaming_content).decode()
    pdf = PdfReader(io.BytesIO(erin.get(reverse("reviews:evidence_pdf", args=[launched.pk])).content))
    pdf_text = " ".join(" ".join(page.extract_text() for page in pdf.pages).split())

    rows = {row["holder_email"]: row for row in csv.DictReader(io.StringIO(csv_text))}
    assert rows["alice@example.com"]["cloudtrail_activity"] == (
        "used 37 calls in the last 90 days: s3:GetObject, s3:PutObject"
    )
    assert rows["carol@example.com"]["cloudtrail_activity"] == "not used in the last 90 days"
    assert (rows["carol@example.com"]["recommendation"], rows["carol@example.com"]["recommendation_source"]) == (
        "revoke",
        "CloudTrail",
    )
    assert "CloudTrail: used 37 calls in the last 90 days: s3:GetObject, s3:PutObject" in pdf_text
    assert "CloudTrail: not used in the last 90 days" in pdf_text
    assert "(source: CloudTrail)" in pdf_text


def test_without_a_trail_the_packs_say_so_plainly(cast, launched):
    collect_activity(launched.pk)
    erin = Client()
    erin.force_login(cast.erin)

    csv_text = b"".join(erin.get(reverse("reviews:evidence", args=[launched.pk])).streaming_content).decode()
    pdf = PdfReader(io.BytesIO(erin.get(reverse("reviews:evidence_pdf", args=[launched.pk])).content))
    pdf_text = " ".join(" ".join(page.extract_text() for page in pdf.pages).split())

    [row, *_] = csv.DictReader(io.StringIO(csv_text))
    assert row["cloudtrail_activity"] == "CloudTrail is not configured for this account"
    assert "CloudTrail: CloudTrail is not configured for this account" in pdf_text
