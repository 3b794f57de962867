"""The member role ships with exactly the permissions the portal's code uses: no more, no fewer.

iam/aws/member_role.py is the declared list; tests/iam/aws_calls.py reads every call the code under iam/
makes. A new call without a line in the list, or a line nobody calls any more, fails here; the shipped
CloudFormation and Terraform are regenerated from the list (`scripts/member_role.py --write`).
"""

import re
import subprocess
import sys
from pathlib import Path

import pytest

from iam.aws import gateway
from iam.aws.member_role import MEMBER_ROLE, operations
from tests.iam.aws_calls import aws_calls

ROOT = Path(__file__).resolve().parents[2]


def _called() -> tuple[set[tuple[str, str]], list]:
    found, unread = aws_calls()
    assert unread == [], f"AWS calls the walker cannot read (name the service and operation literally): {unread}"
    literal = {(call.service, call.operation) for call in found if not call.pattern}
    patterns = [call for call in found if call.pattern]
    return literal, patterns


def test_every_call_in_the_code_is_declared():
    literal, patterns = _called()
    declared = operations()
    missing = sorted(literal - declared)
    assert missing == [], f"iam/ calls these but iam/aws/member_role.py lacks them: {missing}"
    for call in patterns:
        matches = [op for service, op in declared if service == call.service and re.fullmatch(call.operation, op)]
        assert matches, f"{call.where} calls {call.service} {call.operation}, and nothing declared matches it"


def test_nothing_is_declared_that_the_code_never_calls():
    literal, patterns = _called()
    unused = sorted(
        (service, op)
        for service, op in operations() - literal
        if not any(call.service == service and re.fullmatch(call.operation, op) for call in patterns)
    )
    assert unused == [], f"iam/aws/member_role.py grants these but iam/ never calls them: {unused}"


def test_every_declared_operation_exists_in_botocore():
    for service, operation in sorted(operations()):
        assert gateway.iam_actions(service, operation)


def test_an_unknown_operation_is_refused():
    with pytest.raises(ValueError, match="iam has no operation create_usr"):
        gateway.iam_actions("iam", "create_usr")


def test_actions_are_mapped_by_the_service_model():
    assert gateway.iam_actions("sso-admin", "list_instances") == ("sso:ListInstances",)
    assert gateway.iam_actions("accessanalyzer", "list_analyzers") == ("access-analyzer:ListAnalyzers",)
    assert gateway.iam_actions("s3", "list_objects_v2") == ("s3:ListBucket",)


def _shipped_actions(text: str, item: str) -> set[str]:
    return set(re.findall(item, text))


def test_the_shipped_templates_grant_exactly_the_member_role_actions():
    wanted = {action for pair in operations(MEMBER_ROLE) for action in gateway.iam_actions(*pair)}
    cfn = (ROOT / "deploy/aws/member-role.yaml").read_text()
    terraform = (ROOT / "deploy/aws/terraform/member-role/main.tf").read_text()
    assert _shipped_actions(cfn, r"(?m)^ {18}- ([\w-]+:\w+)$") == wanted
    assert _shipped_actions(terraform, r'(?m)^ {10}"([\w-]+:\w+)",$') == wanted
    # The portal's own calls (reaching the role, its audit anchors) are not the member role's to grant.
    assert "sts:AssumeRole" not in wanted and "s3:PutObject" not in wanted


def test_the_shipped_templates_are_current():
    answer = subprocess.run(
        [sys.executable, str(ROOT / "scripts/member_role.py"), "--check"], capture_output=True, text=True
    )
    assert answer.returncode == 0, answer.stderr
