"""One policy document as AWS answered it, read into what separation of duties evaluates, or refused in words.

AWS answers IAM documents URL-encoded (botocore decodes them when they are JSON, and leaves the text
as it came when they are not) and Identity Center's as plain JSON text. Whatever arrives is held to
what a policy is before anything is stored: the documents are kept in a JSON column that PostgreSQL
refuses NUL and broken text in, the decoder recurses once per level, and evaluation reads statements,
effects and action names. A document that fails is named with what is wrong, in words an admin can
act on; nothing of it is kept (iam.facts.permissions keeps the entitlement's last readable documents).

Pure: no database, no AWS.
"""

import json
import math
from typing import Any, NoReturn
from urllib.parse import unquote_to_bytes

# AWS's largest policy is a permission set's inline one, 32,768 characters; four times that is not a policy.
MAX_CHARACTERS = 131_072
# A policy nests five levels at most (Statement, a statement, Condition, an operator, a key's list of values).
MAX_DEPTH = 32
LARGEST_NUMBER = 2**63 - 1
_TEXT_OR_TEXTS = ("Action", "NotAction", "Resource", "NotResource")


class UnreadablePolicy(Exception):
    """A document that is not a policy; `what` says why, without naming the document."""

    def __init__(self, what: str):
        super().__init__(what)
        self.what = what


def read_policy(value: object) -> dict:
    """The document as a dict of plain JSON values, or UnreadablePolicy saying what is wrong with it."""
    if isinstance(value, dict):
        document = value
    elif isinstance(value, str):
        document = _decode(_text_of(value))
    else:
        raise UnreadablePolicy(f"it is {_kind(value)}, not a policy document")
    _check_values(document)
    _check_shape(document)
    return document


def _text_of(value: str) -> str:
    """The JSON text: as it came, or URL-decoded (older tooling and IAM's wire format encode it)."""
    stripped = value.strip()
    if not stripped:
        raise UnreadablePolicy("it is empty")
    try:
        raw = stripped.encode("utf-8")
    except UnicodeEncodeError:  # half of a surrogate pair, decoded from a \\udXXX escape
        raise UnreadablePolicy("it is not valid UTF-8 text") from None
    if len(raw) > MAX_CHARACTERS * 4 or len(stripped) > MAX_CHARACTERS:
        raise UnreadablePolicy(f"it is {len(stripped):,} characters long, more than any policy AWS allows")
    if stripped[0] not in "{[":
        raw = unquote_to_bytes(raw)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise UnreadablePolicy("it is not valid UTF-8 text") from None
    if "\x00" in text:
        raise UnreadablePolicy("it contains a NUL character")
    return text


def _decode(text: str) -> Any:
    try:
        return json.loads(text, parse_constant=_no_constant, parse_float=_finite_number, parse_int=_whole_number)
    except RecursionError:
        raise UnreadablePolicy(f"it is nested more than {MAX_DEPTH} levels deep") from None
    except json.JSONDecodeError as exc:
        raise UnreadablePolicy(f"it is not JSON ({exc.msg} at line {exc.lineno}, column {exc.colno})") from None


def _no_constant(name: str) -> NoReturn:
    raise UnreadablePolicy(f"it is not JSON ({name} is not a number JSON allows)")


def _finite_number(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):
        raise UnreadablePolicy(f"it holds a number too large to read ({text[:24]})")
    return number


def _whole_number(text: str) -> int:
    # Before int(): Python refuses to convert more than 4,300 digits, and a 64-bit number has at most 19.
    if len(text.lstrip("-")) > 19 or abs(number := int(text)) > LARGEST_NUMBER:
        raise UnreadablePolicy(f"it holds a number larger than 64 bits ({text[:24]}{'…' if len(text) > 24 else ''})")
    return number


def _check_values(document: object) -> None:
    """Depth, NUL and numbers, walked with a list (a document botocore decoded was never checked)."""
    pending = [(document, 1)]
    while pending:
        value, depth = pending.pop()
        if isinstance(value, dict | list):
            if depth > MAX_DEPTH:
                raise UnreadablePolicy(f"it is nested more than {MAX_DEPTH} levels deep")
            items = value.items() if isinstance(value, dict) else enumerate(value)
            for key, item in items:
                if isinstance(key, str) and "\x00" in key:
                    raise UnreadablePolicy("it contains a NUL character")
                pending.append((item, depth + 1))
        elif isinstance(value, str):
            if "\x00" in value:
                raise UnreadablePolicy("it contains a NUL character")
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                raise UnreadablePolicy("it is not valid UTF-8 text") from None
        elif isinstance(value, bool) or value is None:
            continue
        elif isinstance(value, int):
            if abs(value) > LARGEST_NUMBER:
                raise UnreadablePolicy("it holds a number larger than 64 bits")
        elif isinstance(value, float):
            if not math.isfinite(value):
                raise UnreadablePolicy("it holds a number too large to read")
        else:
            raise UnreadablePolicy(f"it holds {_kind(value)}, which JSON does not have")


def _check_shape(document: object) -> None:
    """What evaluation reads: an object with a Statement, each an object with an Effect and action names."""
    if not isinstance(document, dict):
        raise UnreadablePolicy(f"it is {_kind(document)}, not a JSON object")
    if "Statement" not in document:
        raise UnreadablePolicy("it has no Statement")
    statements = document["Statement"]
    if isinstance(statements, dict):
        statements = [statements]
    elif not isinstance(statements, list):
        raise UnreadablePolicy(f"its Statement is {_kind(document['Statement'])}, not a list or an object")
    for number, statement in enumerate(statements, start=1):
        where = f"statement {number}" if len(statements) > 1 else "its only statement"
        if not isinstance(statement, dict):
            raise UnreadablePolicy(f"{where} is {_kind(statement)}, not an object")
        if statement.get("Effect") not in ("Allow", "Deny"):
            raise UnreadablePolicy(f"the Effect of {where} is neither Allow nor Deny")
        for key in _TEXT_OR_TEXTS:
            if key in statement and not _text_or_texts(statement[key]):
                raise UnreadablePolicy(f"the {key} of {where} is not a string or a list of strings")
        if "Condition" in statement and not isinstance(statement["Condition"], dict):
            raise UnreadablePolicy(f"the Condition of {where} is not an object")


def _text_or_texts(value: object) -> bool:
    return isinstance(value, str) or (isinstance(value, list) and all(isinstance(item, str) for item in value))


def _kind(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true or false"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return f"a {type(value).__name__}"
