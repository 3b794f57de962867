"""Refusing an IAM user name two people would share in one account, before anything reaches AWS.

Two people whose emails share the local part (alice@a.example, alice@b.example) would be one IAM
user: the second would be given, and later lose, the first one's access, and the reconciler could
not tell whose it is. Checked when access is asked for, at every approval vote and at admin grants;
a governance admin resolves it by giving one of them their own name in the account (catalog.IamUserName).
"""

from accounts.models import User
from catalog.iam_names import shared_name
from catalog.models import Entitlement
from inputs.refusals import Duplicate


def refuse_shared_iam_name(person: User, entitlement: Entitlement) -> None:
    """Raise Duplicate if `person`'s IAM user name in the entitlement's account is someone else's too."""
    account = entitlement.account
    name = shared_name(person, account)
    if name is not None:
        raise Duplicate(
            f"{person} would be IAM user {name} in {account}, a name another person in the portal has there too. "
            "A governance admin must first give one of them their own IAM user name for this account "
            "(admin: IAM user names).",
            field="beneficiary",
        )
