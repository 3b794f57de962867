"""How a portal person is known in AWS, and back: which person an IAM user name belongs to.

The naming itself lives in catalog.iam_names (below `access`, which refuses shared names before
anything reaches AWS); these are the answers the sync engine and the reconciler use.
"""

from collections.abc import Iterable

from django.contrib.auth import get_user_model
from django.db.models.functions import Lower

from catalog.iam_names import iam_user_name, iam_user_names, people_named, user_name_for
from catalog.models import AwsAccount

__all__ = ["iam_user_name", "iam_user_names", "people_by_email", "people_by_iam_user_name", "user_name_for"]


def people_by_iam_user_name(names: Iterable[str], account: AwsAccount | None = None) -> dict[str, int]:
    """The ids of the portal people known in AWS by these IAM user names (in `account`, when given).

    A name two people would share is left out: it cannot say whose access it is.
    """
    return {name: next(iter(ids)) for name, ids in people_named(names, account).items() if len(ids) == 1}


def people_by_email(emails: Iterable[str]) -> dict[str, int]:
    """The ids of the portal people with these email addresses, keyed by the lower-cased address."""
    lowered = {email.lower() for email in emails}
    if not lowered:
        return {}
    rows = get_user_model().objects.annotate(lower_email=Lower("email")).filter(lower_email__in=lowered)
    return dict(rows.values_list("lower_email", "pk"))
