"""SCIM User resources: a person as SCIM shows them, and what an IdP's body asks them to become.

Pure: no writes. `UserData` is the whole of what the portal keeps of a person over SCIM; a POST or PUT
body is read into one, and a PATCH is applied to the person's current one, operation by operation, so
the services see a single desired state whichever way the IdP phrased it (Okta's `{"op": "replace",
"value": {"active": false}}`, Entra's `{"op": "Replace", "path": "active", "value": "False"}`).
"""

import re
from dataclasses import dataclass, replace
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django_scim.constants import SchemaURI  # type: ignore[import-untyped]  # django-scim2 ships no types

from accounts.models import User
from scim import errors

ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
USER = SchemaURI.USER
ID_PATTERN = re.compile(r"[1-9][0-9]{0,17}")  # the portal's ids: 18 digits at most (inputs.rules)

# Standard attributes an IdP sends by default that the portal does not keep: accepted and left aside,
# so a default attribute mapping works. Anything else is refused (invalidPath), so a typo is not lost.
IGNORED = {
    "emails",
    "phonenumbers",
    "addresses",
    "nickname",
    "profileurl",
    "usertype",
    "preferredlanguage",
    "locale",
    "timezone",
    "ims",
    "photos",
    "x509certificates",
    "roles",
    "entitlements",
    "groups",
    "password",
    "schemas",
    "id",
    "meta",
    "name.honorificprefix",
    "name.honorificsuffix",
    "name.middlename",
    f"{ENTERPRISE}:employeenumber".lower(),
    f"{ENTERPRISE}:costcenter".lower(),
    f"{ENTERPRISE}:organization".lower(),
    f"{ENTERPRISE}:division".lower(),
    f"{ENTERPRISE}:manager.displayname".lower(),
}
LIMITS = {"user_name": 254, "full_name": 150, "title": 150, "department": 100, "external_id": 255}


@dataclass(frozen=True)
class UserData:
    user_name: str
    full_name: str = ""
    given_name: str = ""
    family_name: str = ""
    title: str = ""
    department: str = ""
    manager_id: int | None = None
    active: bool = True
    external_id: str = ""

    @property
    def name(self) -> str:
        """The full name: name.formatted or displayName, else the given and family names, else the
        part of the email before the @."""
        joined = " ".join(part for part in (self.given_name, self.family_name) if part)
        return (self.full_name or joined or self.user_name.split("@")[0])[: LIMITS["full_name"]]


def current(person: User, external_id: str) -> UserData:
    return UserData(
        user_name=person.email,
        full_name=person.full_name,
        title=person.title,
        department=person.department,
        manager_id=person.manager_id,
        active=person.is_active and not person.is_leaver,
        external_id=external_id,
    )


def to_dict(person: User, external_id: str, location: str) -> dict:
    document: dict[str, Any] = {
        "schemas": [USER, ENTERPRISE],
        "id": str(person.pk),
        "userName": person.email,
        "name": {"formatted": person.full_name},
        "displayName": person.full_name,
        "title": person.title,
        "active": person.is_active and not person.is_leaver,
        "emails": [{"value": person.email, "type": "work", "primary": True}],
        ENTERPRISE: {"department": person.department},
        "meta": {"resourceType": "User", "created": person.date_joined.isoformat(), "location": location},
    }
    if external_id:
        document["externalId"] = external_id
    if person.manager_id:
        document[ENTERPRISE]["manager"] = {"value": str(person.manager_id), "displayName": str(person.manager)}
    return document


# -- reading values ---------------------------------------------------------------------------------------


def check_strings(value: object, depth: int = 0) -> None:
    """Refuse NUL characters anywhere in the body (PostgreSQL cannot store them) and absurd nesting."""
    if depth > 8:
        raise errors.invalid_syntax("The body is nested too deeply.")
    if isinstance(value, str):
        if "\x00" in value:
            raise errors.invalid_value("Text may not contain NUL characters.")
    elif isinstance(value, dict):
        for key, item in value.items():
            check_strings(key, depth + 1)
            check_strings(item, depth + 1)
    elif isinstance(value, list):
        for item in value:
            check_strings(item, depth + 1)


def _text(value: object, attribute: str, field: str) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise errors.invalid_value(f"{attribute} must be a string.")
    value = value.strip()
    if len(value) > LIMITS[field]:
        raise errors.invalid_value(f"{attribute} is longer than {LIMITS[field]} characters.")
    return value


def _boolean(value: object, attribute: str) -> bool:
    """Booleans, and the strings Entra sends for them ("True", "False", any case)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    raise errors.invalid_value(f"{attribute} must be true or false.")


def _user_name(value: object) -> str:
    user_name = _text(value, "userName", "user_name").lower()
    if not user_name:
        raise errors.invalid_value("userName is required: the person's email address.")
    try:
        validate_email(user_name)
    except ValidationError:
        raise errors.invalid_value("userName must be an email address (the portal signs people in by email).") from None
    return user_name


def _manager_id(value: object) -> int | None:
    """The manager's SCIM id: a string, or `{"value": ...}` (Okta, Entra); empty or null: no manager."""
    if isinstance(value, list) and len(value) <= 1:  # Entra's older form: [{"$ref": null, "value": "…"}]
        value = value[0] if value else None
    if isinstance(value, dict):
        value = value.get("value")
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise errors.invalid_value("manager.value must be the manager's id.")
    text = str(value).strip()
    if not ID_PATTERN.fullmatch(text):
        raise errors.invalid_value(f"No person has the id {text[:40]!r}.")
    return int(text)


# -- attributes by path ------------------------------------------------------------------------------------


def _set(data: UserData, path: str, value: object) -> UserData:
    """`data` with the attribute at `path` (as SCIM names it, any case) set to `value`."""
    key = path.strip().lower()
    enterprise = ENTERPRISE.lower()
    if key.startswith(enterprise + ":"):
        sub = key[len(enterprise) + 1 :]
        if sub == "department":
            return replace(data, department=_text(value, "department", "department"))
        if sub in ("manager", "manager.value"):
            return replace(data, manager_id=_manager_id(value))
    elif key == enterprise:
        if value is None:
            return replace(data, department="", manager_id=None)
        if not isinstance(value, dict):
            raise errors.invalid_value(f"{ENTERPRISE} must be an object.")
        for sub, item in value.items():
            data = _set(data, f"{ENTERPRISE}:{sub}", item)
        return data
    elif key == "manager":  # Entra's older path for the enterprise manager
        return replace(data, manager_id=_manager_id(value))
    elif key == "username":
        return replace(data, user_name=_user_name(value))
    elif key == "active":
        return replace(data, active=_boolean(value, "active"))
    elif key == "externalid":
        return replace(data, external_id=_text(value, "externalId", "external_id"))
    elif key in ("displayname", "name.formatted"):
        return replace(data, full_name=_text(value, path, "full_name"))
    elif key == "name.givenname":
        return replace(data, given_name=_text(value, path, "full_name"))
    elif key == "name.familyname":
        return replace(data, family_name=_text(value, path, "full_name"))
    elif key == "name":
        if value is None:
            return data
        if not isinstance(value, dict):
            raise errors.invalid_value("name must be an object.")
        for sub, item in value.items():
            data = _set(data, f"name.{sub}", item)
        return data
    elif key == "title":
        return replace(data, title=_text(value, "title", "title"))
    if key in IGNORED or key.split("[")[0].split(".")[0] in IGNORED:
        return data
    raise errors.invalid_path(f"The portal keeps no attribute {path[:80]!r}.")


def from_body(body: dict) -> UserData:
    """A POST or PUT body: the whole of the person (what it leaves out is emptied, as PUT replaces)."""
    if "userName" not in body:
        raise errors.invalid_value("userName is required: the person's email address.")
    data = UserData(user_name=_user_name(body["userName"]))
    for key, value in body.items():
        if key == "userName":
            continue
        data = _set(data, key, value)
    return data


NAME_PARTS = ("name.givenname", "name.familyname")


def _touches_name_parts(path: object, value: object) -> bool:
    """Whether an operation sets the given or family name without the formatted one."""
    key = path.strip().lower() if isinstance(path, str) else ""
    if key in NAME_PARTS:
        return True
    if key == "name" and isinstance(value, dict):
        keys = {str(name).lower() for name in value}
        return bool(keys & {"givenname", "familyname"}) and "formatted" not in keys
    if not key and isinstance(value, dict):
        return any(_touches_name_parts(name, item) for name, item in value.items() if isinstance(name, str))
    return False


def _split_name(data: UserData) -> UserData:
    """Before a PATCH of one part of the name: the other part is taken from the current full name, which
    gives way to the parts (the full name is then the given and family names joined)."""
    if not (data.given_name or data.family_name) and data.full_name:
        given, _, family = data.full_name.partition(" ")
        data = replace(data, given_name=given, family_name=family)
    return replace(data, full_name="")


def patched(data: UserData, operations: object) -> UserData:
    """`data` after a PATCH's Operations, in order (RFC 7644 §3.5.2)."""
    if not isinstance(operations, list) or not operations:
        raise errors.invalid_syntax("A PATCH needs a non-empty Operations list.")
    if len(operations) > 100:
        raise errors.invalid_syntax("At most 100 operations in one PATCH.")
    for operation in operations:
        if not isinstance(operation, dict):
            raise errors.invalid_syntax("Each operation must be an object.")
        op = operation.get("op")
        if not isinstance(op, str) or op.lower() not in ("add", "replace", "remove"):
            raise errors.invalid_syntax("op must be add, replace or remove.")
        op, path, value = op.lower(), operation.get("path"), operation.get("value")
        if path is not None and not isinstance(path, str):
            raise errors.invalid_path("path must be a string.")
        if op != "remove" and _touches_name_parts(path, value):
            data = _split_name(data)
        if op == "remove":
            if not path:
                raise errors.ScimError("remove needs a path.", 400, "noTarget")
            if path.strip().lower() in ("username", "active"):
                raise errors.mutability(f"{path} cannot be removed.")
            data = _set(data, path, None)
        elif path:
            data = _set(data, path, value)
        else:
            if not isinstance(value, dict):
                raise errors.invalid_value("An operation without a path needs an object as its value.")
            for key, item in value.items():
                if not isinstance(key, str):
                    raise errors.invalid_path("Attribute names are strings.")
                data = _set(data, key, item)
    return data


# -- filters -----------------------------------------------------------------------------------------------

FILTER = re.compile(
    r'\s*(?P<attribute>[A-Za-z.:\[\]" 0-9_-]+?)\s+eq\s+"(?P<value>(?:[^"\\]|\\.)*)"\s*', re.IGNORECASE | re.DOTALL
)
FILTERABLE = {
    "username": "user_name",
    "externalid": "external_id",
    'emails[type eq "work"].value': "user_name",
    "emails.value": "user_name",
    "displayname": "display_name",
    "id": "id",
}


def parse_filter(text: str, allowed: dict[str, str] = FILTERABLE) -> tuple[str, str]:
    """`attribute eq "value"`, the filter Okta and Entra send before they create someone."""
    if len(text) > 1000:
        raise errors.ScimError("The filter is too long.", 400, "invalidFilter")
    match = FILTER.fullmatch(text)
    field = allowed.get(match.group("attribute").strip().lower()) if match else None
    if match is None or field is None:
        names = " or ".join(sorted(name for name in allowed if "[" not in name))
        raise errors.ScimError(
            f'Only filters of the form {names} eq "…" are supported.',
            400,
            "invalidFilter",
        )
    value = re.sub(r"\\(.)", r"\1", match.group("value"))
    return field, value
