"""How a portal person is known in AWS, and back: which person an IAM user name belongs to."""

import re
from collections import defaultdict
from collections.abc import Iterable

from django.contrib.auth import get_user_model
from django.db.models import Q, Value
from django.db.models.functions import Left, Lower, StrIndex

_INVALID = re.compile(r"[^\w+=,.@-]")
# Emails whose local part holds a character IAM refuses: their IAM name is not their local part.
_RENAMED_LOCAL_PART = r"^[^@]*[^A-Za-z0-9_+=,.@-][^@]*@"
_CHUNK = 500


def user_name_for(email: str, override: str = "") -> str:
    """The IAM user name for this email and override (see iam_user_name)."""
    if override:
        return override
    return _INVALID.sub("-", email.split("@", 1)[0])[:64]


def iam_user_name(user) -> str:
    """The person's IAM user name: their override, else the email's local part.

    The same name is used in every account; characters IAM does not allow become '-'.
    """
    return user_name_for(user.email, user.iam_user_name)


def people_by_iam_user_name(names: Iterable[str]) -> dict[str, int]:
    """The ids of the portal people known in AWS by these IAM user names.

    A name two people would share is left out: it cannot say whose access it is. A few
    queries whatever the number of names (one per 500, plus the rare people whose email
    needed characters replaced).
    """
    wanted = set(names)
    if not wanted:
        return {}
    people: dict[str, set[int]] = defaultdict(set)
    users = get_user_model().objects.annotate(local_part=Left("email", StrIndex("email", Value("@")) - 1))
    ordered = sorted(wanted)
    for start in range(0, len(ordered), _CHUNK):
        chunk = ordered[start : start + _CHUNK]
        query = Q(iam_user_name__in=chunk) | Q(iam_user_name="", local_part__in=chunk)
        for pk, email, override in users.filter(query).values_list("pk", "email", "iam_user_name"):
            people[user_name_for(email, override)].add(pk)
    renamed = users.filter(iam_user_name="", email__regex=_RENAMED_LOCAL_PART).values_list("pk", "email")
    for pk, email in renamed:
        people[user_name_for(email)].add(pk)
    return {name: next(iter(ids)) for name, ids in people.items() if name in wanted and len(ids) == 1}


def people_by_email(emails: Iterable[str]) -> dict[str, int]:
    """The ids of the portal people with these email addresses, keyed by the lower-cased address."""
    lowered = {email.lower() for email in emails}
    if not lowered:
        return {}
    rows = get_user_model().objects.annotate(lower_email=Lower("email")).filter(lower_email__in=lowered)
    return dict(rows.values_list("lower_email", "pk"))
