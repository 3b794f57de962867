"""Scanning an account end to end against the simulated AWS, and deactivating a key from a finding.

IAM is moto over HTTP; Access Analyzer (not simulated) answers through botocore's Stubber.
"""

import json
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from audit.models import AuditEvent
from iam.aws.errors import PermanentAwsError
from inputs.refusals import NotAllowed
from posture import services
from posture.models import PostureFinding, PostureScan
from tests.posture.conftest import analyzer

ADMIN_DOC = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]})


@pytest.fixture
def account(aws, aws_direct, cast, sandbox, moto_report_clock, stub):
    """Alice: console password, no MFA, one access key. Bob: password with MFA. Carol: a policy of her own.

    Dave has left the company but still holds an active key; the Developers group has full admin.
    """
    iam = aws_direct("iam")
    moto_report_clock(aws)
    for user in ("alice", "bob"):
        iam.create_login_profile(UserName=user, Password="Sup3r-secret-password!")
    serial = iam.create_virtual_mfa_device(VirtualMFADeviceName="bob")["VirtualMFADevice"]["SerialNumber"]
    iam.enable_mfa_device(
        UserName="bob", SerialNumber=serial, AuthenticationCode1="123456", AuthenticationCode2="654321"
    )
    iam.create_access_key(UserName="alice")
    iam.create_access_key(UserName="dave")
    iam.put_user_policy(
        UserName="carol", PolicyName="own", PolicyDocument=ADMIN_DOC.replace('"*", "Resource"', '"s3:*", "Resource"')
    )
    admin_arn = iam.create_policy(PolicyName="full-admin", PolicyDocument=ADMIN_DOC)["Policy"]["Arn"]
    iam.attach_group_policy(GroupName="Developers", PolicyArn=admin_arn)
    type(cast.dave).objects.filter(pk=cast.dave.pk).update(employment_status="leaver")
    analyzers = stub(aws, "accessanalyzer")
    return sandbox.account, analyzers, admin_arn


def open_findings(account) -> set:
    return set(
        PostureFinding.objects.filter(account=account, resolved_at__isnull=True).values_list("control_id", "principal")
    )


def test_scan_opens_a_finding_for_each_failing_principal(account, cast):
    aws_account, analyzers, admin_arn = account
    analyzers.add_response("list_analyzers", {"analyzers": [analyzer()]}, {})
    scan = services.scan_account(aws_account.pk)
    found = open_findings(aws_account)
    assert {
        ("2.10", "alice"),
        ("2.13", "carol"),
        ("2.14", admin_arn),
        ("portal.leaver_key", "dave"),
        ("2.15", "account"),
    } <= found
    assert ("2.10", "bob") not in found
    assert ("2.18", "account") not in found
    assert not {key for key in found if key[0] in ("2.11", "2.12")}
    assert scan.status == PostureScan.Status.SUCCEEDED and scan.controls_failed >= 5
    assert scan.controls_passed + scan.controls_failed == 10
    leaver = PostureFinding.objects.get(control_id="portal.leaver_key")
    assert leaver.person == cast.dave and leaver.severity == "high"
    assert leaver.evidence["access_key_1_active"] == "true"
    assert PostureFinding.objects.get(control_id="2.10", principal="alice").person == cast.alice
    assert AuditEvent.objects.filter(action="posture.scan", object_id=str(scan.pk)).exists()


def test_a_later_scan_refreshes_open_findings_and_resolves_fixed_ones(account, aws_direct):
    aws_account, analyzers, _ = account
    analyzers.add_response("list_analyzers", {"analyzers": [analyzer()]}, {})
    analyzers.add_response("list_analyzers", {"analyzers": []}, {})
    services.scan_account(aws_account.pk)
    first = PostureFinding.objects.get(control_id="2.10", principal="alice")
    aws_direct("iam").delete_user_policy(UserName="carol", PolicyName="own")
    later = timezone.now() + timedelta(days=1)
    services.scan_account(aws_account.pk, now=later)
    assert PostureFinding.objects.get(control_id="2.13", principal="carol").resolved_at == later
    still = PostureFinding.objects.get(pk=first.pk)
    assert still.resolved_at is None and still.last_seen == later and still.first_seen == first.first_seen
    assert ("2.18", "account") in open_findings(aws_account)


def test_unused_key_is_deactivated_by_an_admin_and_read_back_inactive(account, aws_direct, cast):
    aws_account, analyzers, _ = account
    analyzers.add_response("list_analyzers", {"analyzers": [analyzer()]}, {})
    later = timezone.now() + timedelta(days=60)
    services.scan_account(aws_account.pk, now=later)
    finding = PostureFinding.objects.get(control_id="2.11", principal="alice:access_key_1", resolved_at__isnull=True)
    assert finding.evidence["access_key_1_last_used_date"] == "N/A"
    with pytest.raises(NotAllowed):
        services.deactivate_key(finding.pk, cast.alice, now=later)
    services.deactivate_key(finding.pk, cast.erin, now=later)
    keys = aws_direct("iam").list_access_keys(UserName="alice")["AccessKeyMetadata"]
    assert [key["Status"] for key in keys] == ["Inactive"]
    finding.refresh_from_db()
    assert finding.resolved_at == later
    event = AuditEvent.objects.get(action="posture.key_deactivated")
    assert event.actor_id == cast.erin.pk and list(event.after["keys"].values()) == ["Inactive"]


def test_a_recently_used_key_is_not_deactivated(account, aws_direct, cast):
    from inputs.refusals import StaleState

    aws_account, analyzers, _ = account
    analyzers.add_response("list_analyzers", {"analyzers": [analyzer()]}, {})
    services.scan_account(aws_account.pk, now=timezone.now() + timedelta(days=60))
    finding = PostureFinding.objects.get(control_id="2.11", principal="alice:access_key_1")
    with pytest.raises(StaleState):
        services.deactivate_key(finding.pk, cast.erin, now=timezone.now())
    assert aws_direct("iam").list_access_keys(UserName="alice")["AccessKeyMetadata"][0]["Status"] == "Active"


def test_leaver_key_is_deactivated_whatever_its_age(account, aws_direct, cast):
    aws_account, analyzers, _ = account
    analyzers.add_response("list_analyzers", {"analyzers": [analyzer()]}, {})
    services.scan_account(aws_account.pk)
    finding = PostureFinding.objects.get(control_id="portal.leaver_key", principal="dave")
    services.deactivate_key(finding.pk, cast.erin)
    assert aws_direct("iam").list_access_keys(UserName="dave")["AccessKeyMetadata"][0]["Status"] == "Inactive"


def test_an_aws_refusal_fails_the_scan_and_leaves_findings_alone(account):
    aws_account, analyzers, _ = account
    analyzers.add_response("list_analyzers", {"analyzers": [analyzer()]}, {})
    services.scan_account(aws_account.pk)
    before = open_findings(aws_account)
    analyzers.add_client_error("list_analyzers", "AccessDeniedException", http_status_code=403)
    with pytest.raises(PermanentAwsError):
        services.scan_account(aws_account.pk)
    failed = PostureScan.objects.filter(account=aws_account).first()
    assert failed.status == PostureScan.Status.FAILED and "AccessDenied" in failed.error
    assert open_findings(aws_account) == before


def test_admin_deactivates_a_leaver_key_from_the_findings_page(account, aws_direct, cast, client_for):
    aws_account, analyzers, _ = account
    analyzers.add_response("list_analyzers", {"analyzers": [analyzer()]}, {})
    services.scan_account(aws_account.pk)
    finding = PostureFinding.objects.get(control_id="portal.leaver_key", principal="dave")
    response = client_for(cast.erin).post(reverse("posture:deactivate_key", args=[finding.pk]), follow=True)
    assert "now inactive" in response.content.decode()
    assert aws_direct("iam").list_access_keys(UserName="dave")["AccessKeyMetadata"][0]["Status"] == "Inactive"
    again = client_for(cast.erin).post(reverse("posture:deactivate_key", args=[finding.pk]), follow=True)
    assert "already resolved" in again.content.decode()
