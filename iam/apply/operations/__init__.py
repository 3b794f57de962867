"""Making one person's access to one entitlement match the ledger, by entitlement kind.

Each kind's module offers `apply(target, present=...) -> evidence`: it changes AWS only
as far as needed (every step is idempotent, so a rerun after a crash is safe), then reads
AWS back and returns what AWS answered as the evidence recorded on the grant. If AWS
accepted a change but does not show it yet, it raises TransientAwsError so the grant is
retried; an error that retrying cannot fix is a PermanentAwsError with AWS's message.

  iam_group           membership of the IAM group            (iam.apply.operations.groups)
  iam_policy          managed policy attached to the user    (iam.apply.operations.policies)
  iam_role            permission to assume the role          (iam.apply.operations.roles)
  sso_permission_set  Identity Center account assignment     (iam.apply.operations.sso)
"""

from typing import Protocol

from catalog.models import Entitlement
from iam.apply.operations import groups, policies, roles, sso
from iam.apply.operations.target import Target
from iam.aws.errors import PermanentAwsError


class _Applier(Protocol):
    def __call__(self, target: Target, *, present: bool) -> str: ...


_APPLIERS: dict[str, _Applier] = {
    Entitlement.Kind.IAM_GROUP: groups.apply,
    Entitlement.Kind.IAM_POLICY: policies.apply,
    Entitlement.Kind.IAM_ROLE: roles.apply,
    Entitlement.Kind.SSO_PERMISSION_SET: sso.apply,
}

__all__ = ["Target", "apply"]


def apply(kind: str, target: Target, *, present: bool) -> str:
    """Make AWS match the desired state for `kind`, read it back, and return the evidence."""
    applier = _APPLIERS.get(kind)
    if applier is None:
        raise PermanentAwsError(f"The portal cannot sync entitlements of kind {kind!r}.", "UnknownKind")
    return applier(target, present=present)
