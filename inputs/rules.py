"""What the portal accepts from outside, whoever sends it, and the words it refuses the rest with.

Every id, number and text that arrives in a path, a query string, a form or a JSON body is held to
these bounds before it reaches the ORM: SQLite cannot bind an integer beyond 64 bits (OverflowError),
PostgreSQL refuses a NUL in a text value, and the JSON decoder recurses once per level of nesting.
The pages check them in `inputs.middleware`, the API in `api.parsers` and its serializer fields.
"""

import math
import re
from urllib.parse import unquote_to_bytes

# An object's id has at most 18 digits: every such number fits a 64-bit column, with room to spare.
ID_DIGITS = 18
MAX_ID = 10**ID_DIGITS - 1
ID_REGEX = f"[0-9]{{1,{ID_DIGITS}}}"
# The largest number a JSON body may carry anywhere: what a 64-bit column holds.
LARGEST_NUMBER = 2**63 - 1
# No body the API takes is more than a few levels deep; this leaves room and stops a decoder bomb.
MAX_JSON_DEPTH = 32

NUMBER_TOO_LARGE = "That number is too large."
NUL_NOT_ALLOWED = "The text contains a character that is not allowed (NUL)."
NOT_UTF8 = "The text is not valid UTF-8."
TOO_DEEP = "The request body is too deeply nested."
TOO_BIG = "The request body is too large."
BAD_LENGTH = "The request's Content-Length is not a number of bytes."
NOT_AN_ID = "That is not an id: ids are whole numbers."

_ASCII_ID = re.compile(r"[0-9]+")


class RefusedInput(Exception):
    """Input outside the bounds above; nothing was read from or written to the database."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.message = message
        self.status = status  # 413 for a body too large, else 400


def check_text(value: str) -> str:
    if "\x00" in value:
        raise RefusedInput(NUL_NOT_ALLOWED)
    return value


def check_encoded(raw: bytes) -> None:
    """A query string or url-encoded form as sent: no NUL once decoded, and UTF-8 throughout.

    Decoded as a whole: the separators are ASCII, so the whole is UTF-8 exactly when every name and
    value is (Django's own parsing would quietly replace the bad bytes instead).
    """
    decoded = unquote_to_bytes(raw.replace(b"+", b" ")) if b"%" in raw else raw
    if b"\x00" in decoded:
        raise RefusedInput(NUL_NOT_ALLOWED)
    try:
        decoded.decode("utf-8")
    except UnicodeDecodeError:
        raise RefusedInput(NOT_UTF8) from None


def check_json(document) -> None:
    """A decoded JSON body: nested at most MAX_JSON_DEPTH deep, no NUL in any key or string, and no
    number beyond what a 64-bit column holds. Walked with a list, not recursion."""
    pending = [(document, 1)]
    while pending:
        value, depth = pending.pop()
        if isinstance(value, dict | list):
            if depth > MAX_JSON_DEPTH:
                raise RefusedInput(TOO_DEEP)
            if isinstance(value, dict):
                for key in value:
                    check_text(key)
                pending.extend((item, depth + 1) for item in value.values())
            else:
                pending.extend((item, depth + 1) for item in value)
        elif isinstance(value, str):
            check_text(value)
        elif isinstance(value, bool) or value is None:
            continue
        elif isinstance(value, int):
            if abs(value) > LARGEST_NUMBER:
                raise RefusedInput(NUMBER_TOO_LARGE)
        elif isinstance(value, float) and not math.isfinite(value):
            raise RefusedInput(NUMBER_TOO_LARGE)


def id_or_none(value) -> int | None:
    """An id typed in a form or query string: None when it is not digits (a filter left empty, junk),
    refused when it is digits but more of them than any id has. ASCII digits only: "²" is a digit to
    str.isdigit but not to int()."""
    text = str(value).strip() if value is not None else ""
    if not _ASCII_ID.fullmatch(text):
        return None
    if len(text.lstrip("0")) > ID_DIGITS:
        raise RefusedInput(NUMBER_TOO_LARGE)
    return int(text)


def ids_of(values) -> list[int]:
    """The ids among several typed values (ticked boxes), in order; junk left out, huge ones refused."""
    return [number for number in map(id_or_none, values) if number is not None]
