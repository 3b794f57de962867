"""What was done with a grant, from CloudTrail: log files written into the simulated S3 as CloudTrail writes them
(gzip JSON under AWSLogs/<account>/CloudTrail/<region>/YYYY/MM/DD/), for several people and windows, summarised
per grant through the gateway."""

import gzip
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from django.urls import reverse

from access.models import Grant, GrantActivity
from access.timeline import timeline
from catalog.models import Entitlement
from iam.facts import cloudtrail
from iam.tasks import summarise_grant_activity, summarise_live_grants
from outbox.models import OutboxMessage
from tests.iam.trail_files import iam_user_call, key_for, log_file, role_call

PREFIX = "trails/main"
ACTIVATED = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
NOW = datetime(2026, 11, 22, 17, 0, tzinfo=UTC)


@pytest.fixture
def trail(aws_direct, sandbox, fresh_clients):
    """The sandbox account's trail bucket (its own per test: the simulated S3 outlives a test); `put(records,
    when)` writes one log file for that day."""
    s3 = aws_direct("s3")
    bucket = f"cloudtrail-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=bucket)
    sandbox.account.cloudtrail_bucket = bucket
    sandbox.account.cloudtrail_prefix = PREFIX
    sandbox.account.save()

    def put(records, when, *, body=None, region="us-east-1"):
        key = key_for(when, PREFIX, region)
        s3.put_object(Bucket=bucket, Key=key, Body=body if body is not None else log_file(records))
        return key

    return put


def active_grant(person, entitlement, *, activated=ACTIVATED, ended=None) -> Grant:
    return Grant.objects.create(
        user=person,
        entitlement=entitlement,
        source=Grant.Source.ADMIN,
        sync_state=Grant.SyncState.APPLIED,
        activated_at=activated,
        granted_at=activated,
        ended_at=ended,
        desired=Grant.Desired.ABSENT if ended else Grant.Desired.PRESENT,
    )


def day(offset_hours: float) -> datetime:
    return ACTIVATED + timedelta(hours=offset_hours)


def test_alices_calls_in_her_window_are_summarised_and_her_writes_flagged(trail, cast, sandbox):
    grant = active_grant(cast.alice, sandbox.developers)
    put_object = iam_user_call("alice", day(30), "s3.amazonaws.com", "PutObject")
    create_user = iam_user_call("alice", day(31), "iam.amazonaws.com", "CreateUser", error="AccessDenied")
    trail(
        [
            iam_user_call("alice", day(1), "s3.amazonaws.com", "GetObject"),
            iam_user_call("alice", day(2), "s3.amazonaws.com", "GetObject"),
            iam_user_call("bob", day(2), "s3.amazonaws.com", "DeleteBucket"),  # somebody else
            iam_user_call("alice", day(-5), "s3.amazonaws.com", "DeleteObject"),  # before her grant
        ],
        day(2),
    )
    trail([put_object, create_user, iam_user_call("alice", day(32), "s3.amazonaws.com", "GetObject")], day(30))
    trail([iam_user_call("alice", day(33), "ec2.amazonaws.com", "DescribeInstances")], day(33), region="eu-west-1")

    activity = cloudtrail.summarise_grant(grant.pk, now=NOW)

    assert (activity.configured, activity.principal, activity.calls, activity.errors) == (True, "alice", 6, 1)
    assert activity.top_actions[0] == ["s3:GetObject", 3]
    assert activity.by_service == {"s3": 4, "iam": 1, "ec2": 1}
    assert (activity.first_call_at, activity.last_call_at) == (day(1), day(33))
    assert activity.flagged == 2
    assert sorted(activity.flagged_event_ids) == sorted([put_object["eventID"], create_user["eventID"]])
    assert (activity.files_read, activity.files_skipped) == (3, 0)
    assert activity.words().startswith("used 6 calls in the last 3 days: s3:GetObject, ")
    assert "2 write, delete or IAM calls flagged" in activity.words()


def test_a_role_counts_only_the_sessions_named_after_the_person(trail, cast, sandbox, entitlement_of):
    deployer = entitlement_of(Entitlement.Kind.IAM_ROLE, "arn:aws:iam::123456789012:role/Deployer")
    grant = active_grant(cast.alice, deployer)
    trail(
        [
            role_call("Deployer", "alice", day(3), "lambda.amazonaws.com", "UpdateFunctionCode"),
            role_call("Deployer", "bob", day(3), "lambda.amazonaws.com", "DeleteFunction"),
            role_call("Auditor", "alice", day(4), "s3.amazonaws.com", "GetObject"),
            iam_user_call("alice", day(4), "s3.amazonaws.com", "GetObject"),
        ],
        day(3),
    )

    activity = cloudtrail.summarise_grant(grant.pk, now=NOW)

    assert activity.principal == "assumed-role/Deployer/alice"
    assert (activity.calls, activity.top_actions, activity.flagged) == (1, [["lambda:UpdateFunctionCode", 1]], 1)


def test_an_ended_grant_is_read_up_to_its_end_only(trail, cast, sandbox):
    grant = active_grant(cast.alice, sandbox.developers, ended=day(10))
    trail([iam_user_call("alice", day(20), "s3.amazonaws.com", "GetObject")], day(20))

    activity = cloudtrail.summarise_grant(grant.pk, now=NOW)

    assert (activity.window_end, activity.calls) == (day(10), 0)
    assert activity.words() == "not used in 10 hours (CloudTrail)"  # a window under a day is said in hours


def test_a_call_in_the_second_the_grant_began_is_counted(trail, cast, sandbox):
    """CloudTrail dates calls to the whole second; the grant began 0.6 s into that second."""
    began = ACTIVATED + timedelta(milliseconds=600)
    grant = active_grant(cast.alice, sandbox.developers, activated=began)
    trail(
        [
            iam_user_call("alice", ACTIVATED, "s3.amazonaws.com", "GetObject"),  # dated 09:00:00, made at 09:00:00.8
            iam_user_call("alice", ACTIVATED - timedelta(seconds=1), "s3.amazonaws.com", "DeleteObject"),  # before
        ],
        ACTIVATED,
    )

    activity = cloudtrail.summarise_grant(grant.pk, now=NOW)

    assert (activity.calls, activity.top_actions) == (1, [["s3:GetObject", 1]])


def test_a_garbage_file_is_skipped_and_counted(trail, cast, sandbox):
    grant = active_grant(cast.alice, sandbox.developers)
    trail([], day(1), body=b"this is not gzip")
    trail([], day(1), body=log_file([])[:-12])  # cut short
    trail([], day(1), body=gzip.compress(b'{"NotRecords": []}'))
    trail([], day(1), body=gzip.compress(b"[1, 2"))
    trail(
        ["not an event", {"userIdentity": "odd"}, iam_user_call("alice", day(1), "s3.amazonaws.com", "GetObject")],
        day(1),
    )

    activity = cloudtrail.summarise_grant(grant.pk, now=NOW)

    assert (activity.calls, activity.files_read, activity.files_skipped) == (1, 1, 4)
    assert activity.words().endswith("; 4 unreadable log files skipped")


def test_without_a_trail_bucket_the_summary_says_so_plainly(cast, sandbox):
    grant = active_grant(cast.alice, sandbox.developers)

    activity = cloudtrail.summarise_grant(grant.pk, now=NOW)

    assert (activity.configured, activity.calls) == (False, 0)
    assert activity.words() == "CloudTrail is not configured for this account"
    [entry] = timeline([], activity)
    assert entry.text == "Activity: CloudTrail is not configured for this account"


def test_the_task_replaces_the_summary_and_the_timeline_shows_it(trail, cast, sandbox):
    grant = active_grant(cast.alice, sandbox.developers, activated=datetime.now(UTC) - timedelta(hours=3))
    trail([iam_user_call("alice", datetime.now(UTC) - timedelta(hours=1), "s3.amazonaws.com", "GetObject")], day(0))
    summarise_grant_activity(grant.pk)
    trail(
        [iam_user_call("alice", datetime.now(UTC) - timedelta(hours=1), "s3.amazonaws.com", "GetObject")],
        datetime.now(UTC),
    )

    summarise_grant_activity(grant.pk)

    activity = GrantActivity.objects.get(grant=grant)
    assert activity.calls == 1
    [entry] = timeline([], activity)
    assert (entry.tone, entry.text) == ("info", "Activity: used 1 call in 3 hours: s3:GetObject (CloudTrail)")


def test_the_daily_job_queues_live_grants_in_accounts_with_a_trail(trail, cast, sandbox):
    live = active_grant(cast.alice, sandbox.developers)
    ended = active_grant(cast.bob, sandbox.developers, ended=day(5))
    active_grant(cast.carol, sandbox.breakglass, activated=None)  # never active: nothing to read

    assert summarise_live_grants() == 2

    queued = sorted(
        args
        for args in OutboxMessage.objects.filter(task_name="iam.summarise_grant_activity").values_list(
            "args", flat=True
        )
    )
    assert queued == sorted([[live.pk], [ended.pk]])


def test_governance_admins_ask_for_a_fresh_read_on_the_grant_page(trail, client_for, cast, sandbox):
    grant = active_grant(cast.alice, sandbox.developers)
    page = client_for(cast.erin).get(reverse("iam:grant_history", args=[grant.pk])).content.decode()
    assert "Read activity from CloudTrail now" in page

    response = client_for(cast.erin).post(reverse("iam:read_activity", args=[grant.pk]))

    assert response.status_code == 302
    assert list(OutboxMessage.objects.values_list("task_name", "args")) == [
        ("iam.summarise_grant_activity", [grant.pk])
    ]


def test_the_holder_may_not_ask_for_her_own_activity(client_for, cast, sandbox):
    grant = active_grant(cast.alice, sandbox.developers)

    assert client_for(cast.alice).post(reverse("iam:read_activity", args=[grant.pk])).status_code == 403
    assert not OutboxMessage.objects.exists()


def test_the_approver_of_the_request_may_ask_too(client_for, cast, sandbox, grant_of):
    grant = grant_of(sandbox.developers)  # Alice asks, Bob her manager approves

    assert client_for(cast.bob).post(reverse("iam:read_activity", args=[grant.pk])).status_code == 302
    assert client_for(cast.dave).post(reverse("iam:read_activity", args=[grant.pk])).status_code == 403
    assert list(
        OutboxMessage.objects.filter(task_name="iam.summarise_grant_activity").values_list("args", flat=True)
    ) == [[grant.pk]]


def test_a_bucket_that_is_not_there_is_said_in_words_not_raised(cast, sandbox, moto_server, fresh_clients):
    sandbox.account.cloudtrail_bucket = f"missing-{uuid.uuid4().hex[:12]}"
    sandbox.account.save()
    grant = active_grant(cast.alice, sandbox.developers)

    activity = cloudtrail.summarise_grant(grant.pk, now=NOW)

    assert activity.words() == "CloudTrail could not be read: the account's CloudTrail bucket does not exist"


def test_the_requester_sees_the_summary_on_her_requests_timeline(client_for, cast, sandbox, grant_of):
    grant = grant_of(sandbox.developers)
    cloudtrail.summarise_grant(grant.pk)

    page = client_for(cast.alice).get(reverse("access:my_requests")).content.decode()

    assert "Activity: CloudTrail is not configured for this account" in page
