"""How a portal person is named in an AWS account's IAM, and who a name belongs to.

The name is the person's override for the account (catalog.IamUserName), else their own override
(accounts.User.iam_user_name), else their email's local part with the characters IAM refuses
replaced by '-'. Here, below `access`, so that requests, approvals and admin grants can refuse a
name two people would share before anything reaches AWS; iam.aws.identity gives the same answers to
the sync engine and the reconciler.
"""

import re
from collections import defaultdict
from collections.abc import Iterable

from django.contrib.auth import get_user_model
from django.db.models import Q, Value
from django.db.models.functions import Left, StrIndex

from catalog.models import IamUserName

_INVALID = re.compile(r"[^\w+=,.@-]")
# Emails whose local part holds a character IAM refuses: their IAM name is not their local part.
_RENAMED_LOCAL_PART = r"^[^@]*[^A-Za-z0-9_+=,.@-][^@]*@"
_CHUNK = 500


def user_name_for(email: str, override: str = "") -> str:
    """The IAM user name for this email and (global) override."""
    if override:
        return override
    return _INVALID.sub("-", email.split("@", 1)[0])[:64]


def iam_user_name(person, account=None) -> str:
    """The person's IAM user name in `account`: its override there, else theirs, else the email's local part.

    Without an account, the name they have wherever no account override applies. One query with an
    account (none without).
    """
    if account is not None:
        named = IamUserName.objects.filter(account=account, person_id=person.pk).values_list("name", flat=True)
        for name in named:
            return name
    return user_name_for(person.email, person.iam_user_name)


def iam_user_names(people: Iterable, account) -> dict[int, str]:
    """`iam_user_name` for many people in one account, keyed by person id: one query for the batch."""
    people = list(people)
    overrides = dict(
        IamUserName.objects.filter(account=account, person_id__in={person.pk for person in people}).values_list(
            "person_id", "name"
        )
    )
    return {
        person.pk: overrides.get(person.pk) or user_name_for(person.email, person.iam_user_name) for person in people
    }


def people_named(names: Iterable[str], account=None) -> dict[str, set[int]]:
    """For each of `names`, the ids of every portal person known by it (in `account`, when given).

    More than one id: a name two people would share. A few queries whatever the number of names
    (one per 500, plus, when a name holds a '-', the rare people whose email needed characters replaced).
    """
    wanted = set(names)
    if not wanted:
        return {}
    people: dict[str, set[int]] = defaultdict(set)
    users = get_user_model().objects.annotate(local_part=Left("email", StrIndex("email", Value("@")) - 1))
    if account is not None:
        overrides = IamUserName.objects.filter(account=account)
        # People with a name of their own in this account are known by it alone there.
        users = users.exclude(pk__in=overrides.values("person_id"))
    ordered = sorted(wanted)
    for start in range(0, len(ordered), _CHUNK):
        chunk = ordered[start : start + _CHUNK]
        if account is not None:
            for person_id, name in overrides.filter(name__in=chunk).values_list("person_id", "name"):
                people[name].add(person_id)
        query = Q(iam_user_name__in=chunk) | Q(iam_user_name="", local_part__in=chunk)
        for pk, email, override in users.filter(query).values_list("pk", "email", "iam_user_name"):
            people[user_name_for(email, override)].add(pk)
    if any("-" in name for name in wanted):  # a replaced character always becomes '-'
        renamed = users.filter(iam_user_name="", email__regex=_RENAMED_LOCAL_PART).values_list("pk", "email")
        for pk, email in renamed:
            people[user_name_for(email)].add(pk)
    return {name: ids for name, ids in people.items() if name in wanted}


def other_people_named(name: str, account, *, exclude: int) -> set[int]:
    """The ids of the people other than `exclude` known as `name` in `account`."""
    return people_named([name], account).get(name, set()) - {exclude}


def shared_name(person, account) -> str | None:
    """The person's IAM user name in `account` if someone else in the portal has it there too, else None."""
    name = iam_user_name(person, account)
    return name if other_people_named(name, account, exclude=person.pk) else None
