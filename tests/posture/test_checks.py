"""The CIS IAM controls, judged from fixture credential reports and authorization details."""

from datetime import UTC, datetime, timedelta

from posture.checks import ROOT, controls_outcome, evaluate, parse_report
from tests.posture.conftest import analyzer, report_csv

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
ROOT_OK = {"user": ROOT, "password_enabled": "not_supported", "mfa_active": "true"}
SUMMARY_OK = {"AccountMFAEnabled": 1, "AccountAccessKeysPresent": 0}
ADMIN_DOC = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
READ_DOC = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:Get*", "Resource": "*"}]}
SUPPORT_ROLE = {
    "RoleName": "support",
    "Arn": "arn:aws:iam::123456789012:role/support",
    "AttachedManagedPolicies": [
        {"PolicyName": "AWSSupportAccess", "PolicyArn": "arn:aws:iam::aws:policy/AWSSupportAccess"}
    ],
    "RolePolicyList": [],
}
DETAILS_OK = {"UserDetailList": [], "GroupDetailList": [], "RoleDetailList": [SUPPORT_ROLE], "Policies": []}


def days_ago(days: int) -> str:
    return (NOW - timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%S+00:00")


def judge(*rows, summary=SUMMARY_OK, details=DETAILS_OK, analyzers=None, leavers=frozenset()):
    """Findings by (control, principal) for a report of ROOT_OK plus these rows."""
    findings = evaluate(
        parse_report(report_csv(ROOT_OK, *rows)),
        summary,
        details,
        [analyzer()] if analyzers is None else analyzers,
        set(leavers),
        NOW,
    )
    return {(finding.control_id, finding.principal): finding for finding in findings}


def failed(findings: dict) -> set:
    return {key for key, finding in findings.items() if not finding.passed}


def test_a_clean_account_passes_every_control():
    findings = judge(
        {"user": "alice", "password_enabled": "true", "password_last_used": days_ago(1), "mfa_active": "true"}
    )
    assert failed(findings) == set()
    assert all(controls_outcome(list(findings.values())).values())


def test_parser_reads_each_row_by_column_name():
    rows = parse_report(report_csv(ROOT_OK, {"user": "alice", "password_enabled": "false"}))
    assert [row["user"] for row in rows] == [ROOT, "alice"]
    assert rows[1]["access_key_1_last_used_date"] == "N/A"


def test_root_access_keys_fail_2_4_from_the_report_or_the_summary():
    with_key = {**ROOT_OK, "access_key_1_active": "true", "access_key_1_last_rotated": days_ago(3)}
    findings = evaluate(parse_report(report_csv(with_key)), SUMMARY_OK, DETAILS_OK, [analyzer()], set(), NOW)
    assert not next(f for f in findings if f.control_id == "2.4").passed
    findings = judge(summary={"AccountMFAEnabled": 1, "AccountAccessKeysPresent": 1})
    assert failed(findings) == {("2.4", ROOT)}
    assert findings["2.4", ROOT].evidence["AccountAccessKeysPresent"] == 1


def test_root_without_mfa_fails_2_5():
    findings = judge(summary={"AccountMFAEnabled": 0, "AccountAccessKeysPresent": 0})
    assert failed(findings) == {("2.5", ROOT)}
    assert findings["2.5", ROOT].severity == "high"


def test_console_user_without_mfa_fails_2_10():
    findings = judge(
        {"user": "bob", "password_enabled": "true", "password_last_used": days_ago(2), "mfa_active": "false"}
    )
    assert failed(findings) == {("2.10", "bob")}
    assert findings["2.10", "bob"].evidence == {"user": "bob", "password_enabled": "true", "mfa_active": "false"}


def test_password_unused_for_45_days_fails_2_11():
    findings = judge(
        {"user": "bob", "password_enabled": "true", "password_last_used": days_ago(46), "mfa_active": "true"}
    )
    assert failed(findings) == {("2.11", "bob:password")}


def test_never_used_password_falls_back_to_when_it_was_set():
    recent = {"user": "new", "password_enabled": "true", "password_last_used": "no_information", "mfa_active": "true"}
    assert failed(judge({**recent, "password_last_changed": days_ago(3)})) == set()
    assert failed(judge({**recent, "password_last_changed": days_ago(50)})) == {("2.11", "new:password")}


def test_no_information_without_a_fallback_date_is_never_a_pass():
    row = {"user": "odd", "password_enabled": "true", "password_last_used": "no_information", "mfa_active": "true"}
    findings = judge({**row, "password_last_changed": "N/A"})
    assert failed(findings) == {("2.11", "odd:password")}
    assert findings["2.11", "odd:password"].evidence["password_last_used"] == "no_information"


def test_unused_access_key_fails_2_11_and_never_used_falls_back_to_rotation():
    key = {
        "user": "ci",
        "password_enabled": "false",
        "access_key_1_active": "true",
        "access_key_1_last_rotated": days_ago(10),
    }
    assert failed(judge({**key, "access_key_1_last_used_date": "N/A"})) == set()
    assert failed(judge({**key, "access_key_1_last_used_date": days_ago(60)})) == {("2.11", "ci:access_key_1")}
    old = {**key, "access_key_1_last_rotated": days_ago(50), "access_key_1_last_used_date": "N/A"}
    assert ("2.11", "ci:access_key_1") in failed(judge(old))


def test_inactive_keys_are_not_judged():
    row = {
        "user": "ci",
        "password_enabled": "false",
        "access_key_2_active": "false",
        "access_key_2_last_rotated": days_ago(400),
    }
    assert failed(judge(row)) == set()


def test_active_key_older_than_90_days_fails_2_12():
    row = {
        "user": "ci",
        "password_enabled": "false",
        "access_key_2_active": "true",
        "access_key_2_last_rotated": days_ago(91),
        "access_key_2_last_used_date": days_ago(1),
    }
    findings = judge(row)
    assert failed(findings) == {("2.12", "ci:access_key_2")}
    assert findings["2.12", "ci:access_key_2"].evidence["access_key_2_last_rotated"] == days_ago(91)


def test_user_with_attached_or_inline_policies_fails_2_13():
    users = [
        {
            "UserName": "grouped",
            "Arn": "arn:aws:iam::1:user/grouped",
            "AttachedManagedPolicies": [],
            "UserPolicyList": [],
        },
        {
            "UserName": "direct",
            "Arn": "arn:aws:iam::1:user/direct",
            "AttachedManagedPolicies": [
                {"PolicyName": "ReadOnly", "PolicyArn": "arn:aws:iam::aws:policy/ReadOnlyAccess"}
            ],
            "UserPolicyList": [{"PolicyName": "mine", "PolicyDocument": READ_DOC}],
        },
    ]
    findings = judge(details={**DETAILS_OK, "UserDetailList": users})
    assert failed(findings) == {("2.13", "direct")}
    assert findings["2.13", "direct"].evidence["inline_policies"] == ["mine"]


def test_attached_full_admin_policy_fails_2_14_but_an_unattached_one_does_not():
    def policy(name, document, attachments):
        arn = f"arn:aws:iam::123456789012:policy/{name}"
        return {"PolicyName": name, "Arn": arn, "AttachmentCount": attachments, "DefaultDocument": document}

    policies = [policy("admin", ADMIN_DOC, 1), policy("spare-admin", ADMIN_DOC, 0), policy("read", READ_DOC, 3)]
    findings = judge(details={**DETAILS_OK, "Policies": policies})
    assert failed(findings) == {("2.14", "arn:aws:iam::123456789012:policy/admin")}


def test_inline_full_admin_policy_on_a_role_fails_2_14():
    role = {**SUPPORT_ROLE, "RolePolicyList": [{"PolicyName": "god", "PolicyDocument": ADMIN_DOC}]}
    findings = judge(details={**DETAILS_OK, "RoleDetailList": [role]})
    assert failed(findings) == {("2.14", "arn:aws:iam::123456789012:role/support:inline/god")}


def test_deny_statements_with_stars_do_not_fail_2_14():
    deny = {"Statement": [{"Effect": "Deny", "Action": "*", "Resource": "*"}]}
    policies = [
        {"PolicyName": "deny", "Arn": "arn:aws:iam::1:policy/deny", "AttachmentCount": 1, "DefaultDocument": deny}
    ]
    assert failed(judge(details={**DETAILS_OK, "Policies": policies})) == set()


def test_no_support_role_fails_2_15():
    findings = judge(details={**DETAILS_OK, "RoleDetailList": []})
    assert failed(findings) == {("2.15", "account")}


def test_no_active_access_analyzer_fails_2_18():
    assert failed(judge(analyzers=[])) == {("2.18", "account")}


def test_leaver_with_an_active_key_is_a_high_finding():
    row = {
        "user": "gone",
        "password_enabled": "false",
        "access_key_1_active": "true",
        "access_key_1_last_rotated": days_ago(5),
        "access_key_1_last_used_date": days_ago(1),
    }
    findings = judge(row, leavers={"gone"})
    assert failed(findings) == {("portal.leaver_key", "gone")}
    assert findings["portal.leaver_key", "gone"].severity == "high"
    assert failed(judge({**row, "access_key_1_active": "false"}, leavers={"gone"})) == set()


def test_controls_outcome_counts_a_control_failed_when_any_principal_fails():
    findings = judge(
        {"user": "bob", "password_enabled": "true", "password_last_used": days_ago(1), "mfa_active": "false"}
    )
    outcome = controls_outcome(list(findings.values()))
    assert outcome["2.10"] is False
    assert sum(outcome.values()) == len(outcome) - 1
