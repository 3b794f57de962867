"""What an entitlement lets its holder do: the policy documents behind it, read from AWS.

Separation-of-duties permission rules are judged on these (sod.evaluation). Read per kind:
- group: its attached managed policies (default versions) and its inline policies;
- managed policy: its default version;
- role: the role's attached and inline policies (what assuming it allows);
- permission set: its inline policy and its managed policies.
AWS is called outside any transaction; the result is stored by sod.services.record_permissions.
"""

from dataclasses import dataclass, field

from catalog.models import Entitlement
from iam.aws import gateway
from iam.aws.errors import AwsError
from iam.aws.gateway import account_access
from iam.facts.policy_text import UnreadablePolicy, read_policy
from sod.services import record_permissions


@dataclass
class Reading:
    """What one entitlement's policies came to: the documents read, and the ones that could not be, in words."""

    documents: list[dict] = field(default_factory=list)
    unreadable: list[str] = field(default_factory=list)

    def add(self, source: str, value: object) -> None:
        try:
            self.documents.append({"source": source, "document": read_policy(value)})
        except UnreadablePolicy as refused:
            self.unreadable.append(f"Policy {source} could not be read: {refused.what}.")

    @property
    def problem(self) -> str:
        """The words stored on the entitlement (empty when every document was read)."""
        return " ".join(self.unreadable)


def managed_policy(access: gateway.AccountAccess, arn: str) -> dict | str:
    """A managed policy's default version, as AWS answered it (read with `read_policy`)."""
    version = gateway.call(access, "iam", "get_policy", PolicyArn=arn)["Policy"]["DefaultVersionId"]
    answer = gateway.call(access, "iam", "get_policy_version", PolicyArn=arn, VersionId=version)
    return answer["PolicyVersion"]["Document"]


def _principal_reading(access: gateway.AccountAccess, kind: str, name: str) -> Reading:
    """Attached and inline policies of a group or a role (`kind`: "group" or "role")."""
    key = {"group": "GroupName", "role": "RoleName"}[kind]
    reading = Reading()
    attached = gateway.collect(access, "iam", f"list_attached_{kind}_policies", "AttachedPolicies", **{key: name})
    for item in attached:
        reading.add(item["PolicyArn"], managed_policy(access, item["PolicyArn"]))
    for policy_name in gateway.collect(access, "iam", f"list_{kind}_policies", "PolicyNames", **{key: name}):
        answer = gateway.call(access, "iam", f"get_{kind}_policy", **{key: name, "PolicyName": policy_name})
        reading.add(f"{kind}/{name}/{policy_name}", answer["PolicyDocument"])
    return reading


def principal_documents(access: gateway.AccountAccess, kind: str, name: str) -> list[dict]:
    """The readable documents of a group or a role; one that cannot be read counts as allowing nothing."""
    return _principal_reading(access, kind, name).documents


def _permission_set_reading(access: gateway.AccountAccess, instance_arn: str, permission_set_arn: str) -> Reading:
    keys = {"InstanceArn": instance_arn, "PermissionSetArn": permission_set_arn}
    reading = Reading()
    inline = gateway.call(access, "sso-admin", "get_inline_policy_for_permission_set", **keys).get("InlinePolicy")
    if inline:
        reading.add(f"{permission_set_arn} (inline)", inline)
    managed = gateway.collect(
        access, "sso-admin", "list_managed_policies_in_permission_set", "AttachedManagedPolicies", **keys
    )
    for item in managed:
        reading.add(item["Arn"], managed_policy(access, item["Arn"]))
    return reading


def read_entitlement(access: gateway.AccountAccess, kind: str, aws_name: str, sso_instance_arn: str = "") -> Reading:
    """Every policy document behind one entitlement, read from AWS (no transaction open). AWS's errors raise."""
    kinds = Entitlement.Kind
    if kind == kinds.IAM_GROUP:
        return _principal_reading(access, "group", aws_name)
    if kind == kinds.IAM_ROLE:
        return _principal_reading(access, "role", aws_name)
    reading = Reading()
    if kind == kinds.IAM_POLICY:
        reading.add(aws_name, managed_policy(access, aws_name))
        return reading
    return _permission_set_reading(access, sso_instance_arn, aws_name)


def fetch_permissions(entitlement_id: int) -> int:
    """Read and store one entitlement's documents; an AWS error, or a document that cannot be read, is stored
    with it, not raised, and its last readable documents are kept."""
    entitlement = Entitlement.objects.select_related("account").get(pk=entitlement_id)
    access = account_access(entitlement.account)
    try:
        reading = read_entitlement(access, entitlement.kind, entitlement.aws_name, entitlement.account.sso_instance_arn)
    except AwsError as exc:
        record_permissions(entitlement, [], exc.message)
        return 0
    record_permissions(entitlement, reading.documents, unreadable=reading.problem)
    return len(reading.documents)
