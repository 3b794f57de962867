"""Every AWS operation the portal calls, by the identity that calls it: the one list the member role is built from.

`scripts/member_role.py` turns MEMBER_ROLE into deploy/aws/member-role.yaml (CloudFormation, for a StackSet)
and deploy/aws/terraform/member-role/ (Terraform); tests/iam/test_permissions_used.py reads every `*.py` under
iam/ and fails when the code calls an operation not listed here, or this lists one the code never calls. Names
are boto3's (snake_case); `iam.aws.gateway.iam_action` turns them into IAM actions through botocore's models.
"""

# Called with the member role, in each governed account (and, for sso-admin/identitystore, in the account that
# holds the IAM Identity Center instance).
MEMBER_ROLE: dict[str, tuple[str, ...]] = {
    "iam": (
        # Grants: users, groups, managed policies, per-user assume policies, revoked role sessions.
        "create_user",
        "get_user",
        "create_group",
        "get_group",
        "add_user_to_group",
        "remove_user_from_group",
        "list_groups_for_user",
        "attach_user_policy",
        "detach_user_policy",
        "list_attached_user_policies",
        "put_user_policy",
        "get_user_policy",
        "delete_user_policy",
        "get_role",
        "get_role_policy",
        "put_role_policy",
        # Catalog import and effective permissions.
        "list_groups",
        "list_policies",
        "list_roles",
        "get_policy",
        "get_policy_version",
        "list_attached_group_policies",
        "list_attached_role_policies",
        "list_group_policies",
        "list_role_policies",
        "get_group_policy",
        # Reconcile, posture and usage.
        "get_account_authorization_details",
        "get_account_summary",
        "generate_credential_report",
        "get_credential_report",
        "list_access_keys",
        "get_access_key_last_used",
        "update_access_key",
        "generate_service_last_accessed_details",
        "get_service_last_accessed_details",
        # Leavers: console password, MFA devices, inline policies read back (keys are above).
        "get_login_profile",
        "delete_login_profile",
        "list_mfa_devices",
        "deactivate_mfa_device",
        "list_user_policies",
    ),
    "sso-admin": (
        "list_instances",
        "list_permission_sets",
        "describe_permission_set",
        "list_permission_sets_provisioned_to_account",
        "get_inline_policy_for_permission_set",
        "list_managed_policies_in_permission_set",
        "list_account_assignments",
        "list_account_assignments_for_principal",
        "create_account_assignment",
        "delete_account_assignment",
        "describe_account_assignment_creation_status",
        "describe_account_assignment_deletion_status",
    ),
    "identitystore": (
        "get_user_id",
        "describe_user",
    ),
    "accessanalyzer": ("list_analyzers",),
    # What was done with a grant: the account's CloudTrail log files (iam.facts.cloudtrail), where the trail's
    # bucket is.
    "s3": ("list_objects_v2", "get_object"),
}

# Called with the portal's own credentials, in its own account: reaching the member roles, and the audit anchors.
PORTAL_OWN: dict[str, tuple[str, ...]] = {
    "sts": ("assume_role",),
    "s3": ("put_object", "list_objects_v2", "get_object"),
}

# Called with the Organizations connection's role, in the management account or a delegated administrator.
ORGANIZATIONS: dict[str, tuple[str, ...]] = {
    "organizations": (
        "list_roots",
        "list_organizational_units_for_parent",
        "list_accounts_for_parent",
    ),
}


def operations(*groups: dict[str, tuple[str, ...]]) -> set[tuple[str, str]]:
    """(service, operation) pairs of the given groups; all three when none is given."""
    groups = groups or (MEMBER_ROLE, PORTAL_OWN, ORGANIZATIONS)
    return {(service, operation) for group in groups for service, names in group.items() for operation in names}
