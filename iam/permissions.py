"""What an entitlement lets its holder do: the policy documents behind it, read from AWS.

Separation-of-duties permission rules are judged on these (sod.evaluation). Read per kind:
- group: its attached managed policies (default versions) and its inline policies;
- managed policy: its default version;
- role: the role's attached and inline policies (what assuming it allows);
- permission set: its inline policy and its managed policies.
AWS is called outside any transaction; the result is stored by sod.services.record_permissions.
"""

import json
from urllib.parse import unquote

from catalog.models import Entitlement
from iam import gateway
from iam.errors import AwsError
from iam.sync import account_access
from sod.services import record_permissions


def _document(value) -> dict:
    """IAM answers documents parsed, Identity Center as JSON text; older tooling URL-encodes them."""
    if isinstance(value, dict):
        return value
    text = unquote(value or "")
    return json.loads(text) if text.strip() else {}


def managed_policy(access, arn: str) -> dict:
    version = gateway.call(access, "iam", "get_policy", PolicyArn=arn)["Policy"]["DefaultVersionId"]
    answer = gateway.call(access, "iam", "get_policy_version", PolicyArn=arn, VersionId=version)
    return _document(answer["PolicyVersion"]["Document"])


def principal_documents(access, kind: str, name: str) -> list[dict]:
    """Attached and inline policies of a group or a role (`kind`: "group" or "role")."""
    key = {"group": "GroupName", "role": "RoleName"}[kind]
    attached = gateway.collect(access, "iam", f"list_attached_{kind}_policies", "AttachedPolicies", **{key: name})
    documents = [
        {"source": item["PolicyArn"], "document": managed_policy(access, item["PolicyArn"])} for item in attached
    ]
    for policy_name in gateway.collect(access, "iam", f"list_{kind}_policies", "PolicyNames", **{key: name}):
        answer = gateway.call(access, "iam", f"get_{kind}_policy", **{key: name, "PolicyName": policy_name})
        documents.append({"source": f"{kind}/{name}/{policy_name}", "document": _document(answer["PolicyDocument"])})
    return documents


def _permission_set_documents(access, instance_arn: str, permission_set_arn: str) -> list[dict]:
    keys = {"InstanceArn": instance_arn, "PermissionSetArn": permission_set_arn}
    documents = []
    inline = gateway.call(access, "sso-admin", "get_inline_policy_for_permission_set", **keys).get("InlinePolicy")
    if inline:
        documents.append({"source": f"{permission_set_arn} (inline)", "document": _document(inline)})
    managed = gateway.collect(
        access, "sso-admin", "list_managed_policies_in_permission_set", "AttachedManagedPolicies", **keys
    )
    documents += [{"source": item["Arn"], "document": managed_policy(access, item["Arn"])} for item in managed]
    return documents


def read_documents(entitlement: Entitlement) -> list[dict]:
    access = account_access(entitlement.account)
    kinds = Entitlement.Kind
    if entitlement.kind == kinds.IAM_GROUP:
        return principal_documents(access, "group", entitlement.aws_name)
    if entitlement.kind == kinds.IAM_ROLE:
        return principal_documents(access, "role", entitlement.aws_name)
    if entitlement.kind == kinds.IAM_POLICY:
        return [{"source": entitlement.aws_name, "document": managed_policy(access, entitlement.aws_name)}]
    return _permission_set_documents(access, entitlement.account.sso_instance_arn, entitlement.aws_name)


def fetch_permissions(entitlement_id: int) -> int:
    """Read and store one entitlement's documents; an AWS error is stored with it, not raised."""
    entitlement = Entitlement.objects.select_related("account").get(pk=entitlement_id)
    try:
        documents, error = read_documents(entitlement), ""
    except AwsError as exc:
        documents, error = [], exc.message
    record_permissions(entitlement, documents, error)
    return len(documents)
