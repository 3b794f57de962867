"""How a portal person is known in AWS."""

import re

_INVALID = re.compile(r"[^\w+=,.@-]")


def iam_user_name(user) -> str:
    """The person's IAM user name: their override, else the email's local part.

    The same name is used in every account; characters IAM does not allow become '-'.
    """
    if user.iam_user_name:
        return user.iam_user_name
    return _INVALID.sub("-", user.email.split("@", 1)[0])[:64]
