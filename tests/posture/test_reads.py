"""The credential report is never evaluated stale: an old one is regenerated and polled, within bounds."""

from datetime import UTC, datetime, timedelta

import pytest

from iam.aws.errors import TransientAwsError
from iam.aws.gateway import AccountAccess
from iam.facts import posture_reads
from tests.posture.conftest import report_csv

ACCESS = AccountAccess("123456789012")
NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
FRESH_CSV = report_csv({"user": "alice", "password_enabled": "false"})


def report(generated: datetime, content: str = "user\n") -> dict:
    return {"Content": content.encode(), "ReportFormat": "text/csv", "GeneratedTime": generated}


def test_a_fresh_report_is_used_as_it_is(stub):
    iam = stub(ACCESS, "iam")
    iam.add_response("get_credential_report", report(NOW - timedelta(hours=3), FRESH_CSV))
    content, generated = posture_reads.credential_report(ACCESS, now=NOW)
    assert content == FRESH_CSV
    assert generated == NOW - timedelta(hours=3)


def test_a_report_older_than_four_hours_is_regenerated_before_use(stub):
    iam = stub(ACCESS, "iam")
    iam.add_response("get_credential_report", report(NOW - timedelta(hours=5), "user\nstale\n"))
    iam.add_response("generate_credential_report", {"State": "STARTED"})
    iam.add_response("generate_credential_report", {"State": "COMPLETE"})
    iam.add_response("get_credential_report", report(NOW, FRESH_CSV))
    pauses = []
    content, generated = posture_reads.credential_report(ACCESS, now=NOW, sleep=pauses.append)
    assert content == FRESH_CSV
    assert generated == NOW
    assert pauses == [posture_reads.REPORT_POLL_SECONDS]


def test_a_missing_report_is_generated(stub):
    iam = stub(ACCESS, "iam")
    iam.add_client_error("get_credential_report", "ReportNotPresent", http_status_code=410)
    iam.add_response("generate_credential_report", {"State": "COMPLETE"})
    iam.add_response("get_credential_report", report(NOW, FRESH_CSV))
    assert posture_reads.credential_report(ACCESS, now=NOW, sleep=lambda _: None)[0] == FRESH_CSV


def test_a_report_still_generating_after_the_last_poll_is_a_transient_error(stub):
    iam = stub(ACCESS, "iam")
    iam.add_response("get_credential_report", report(NOW - timedelta(hours=30)))
    for _ in range(posture_reads.REPORT_POLL_ATTEMPTS):
        iam.add_response("generate_credential_report", {"State": "INPROGRESS"})
    with pytest.raises(TransientAwsError) as raised:
        posture_reads.credential_report(ACCESS, now=NOW, sleep=lambda _: None)
    assert raised.value.code == "ReportInProgress"


def test_moto_generates_a_readable_report(moto_server, moto_report_clock, aws_direct):
    moto_report_clock(ACCESS)
    aws_direct("iam").create_user(UserName="report-reader")
    content, generated = posture_reads.credential_report(ACCESS, sleep=lambda _: None)
    assert "report-reader" in content
    assert datetime.now(UTC) - generated < timedelta(minutes=5)
