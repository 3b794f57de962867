"""Hostile input: whatever a person or a script sends, no answer is a 5xx.

Every URL pattern Django's resolver knows (the admin's and allauth's included) and every operation
of the served OpenAPI document get: ids beyond 64 bits (2**63, 2**64, 10**40) and negative ones in
the path, the query string and the body; NUL bytes in text; invalid UTF-8 in the query string and
the body; JSON nested 100,000 deep; and a body past DATA_UPLOAD_MAX_MEMORY_SIZE; as GET and as POST.

Roles: each payload goes to each URL as the next of the six roles in turn (so every role sends
something to every URL) and again as the person who gets furthest into that URL (a governance admin,
or whoever the authorization matrix says may use it), so the payload reaches the view's own code.

Each request runs in a savepoint rolled back after it, with the client's cookies put back, so a POST
that is rightly carried out (signing out, marking a leaver) changes nothing for the next one. The
client does not raise a view's exception: a 5xx is counted, and every one is named at the end.
"""

import copy
import itertools
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote, urlencode

import pytest
from django import forms
from django.apps import apps
from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.test import Client
from django.urls import resolve
from django_filters import FilterSet

from tests.security.test_authorization_matrix import EXPECTED, patterns

HUGE = [2**63, 2**64, 10**40]
NEGATIVE = [-(2**63) - 1, -(10**40)]
NUL = "hostile\x00text"
CRLF = "a\r\nSet-Cookie: hostile=1"
DEPTH = 100_000
ROLES = ["anonymous", "alice", "bob", "carol", "frank", "erin"]
# The order of the authorization matrix's columns (tests/security/test_authorization_matrix.py).
MATRIX_ROLES = ["anonymous", "alice", "dave", "carol", "frank", "erin"]
PROJECT = Path(settings.BASE_DIR)
PROJECT_APPS = ["access", "accounts", "api", "audit", "catalog", "iam", "notifications", "portal", "posture", "reviews"]
PROJECT_APPS += ["sod"]
# Parameters a view reads itself (request.GET.get("page"), query_params.get("state"), ...).
READS = re.compile(r"""(?:GET|POST|query_params|params)\.(?:get|getlist|pop)\(\s*["']([\w-]+)["']""")
# Names some views build or read that no form or filter declares (the admin's own query string).
EXTRA_NAMES = {"p", "o", "e", "q", "id__exact", "_changelist_filters", "next", "duration_days", "beneficiary"}
EXTRA_NAMES |= {"request_ids", "item_ids", "items", "duration_1", "code", "login", "password", "email"}
# Values for the path arguments that are not ids.
NAMED_ARGUMENTS = {
    "key": "not-a-key",
    "uidb36": "1",
    "provider_id": "idp",
    "organization_slug": "idp",
    "app_label": "catalog",
    "url": "nowhere/",
}
ARGUMENT = re.compile(
    r"<(?:(?P<converter>\w+):)?(?P<name>\w+)>"  # a route's <converter:name>
    r"|\(\?P<(?P<group>\w+)>(?P<regex>(?:[^()]|\([^()]*\))*)\)"  # a regex's (?P<name>...)
)


@dataclass
class Target:
    """One URL pattern, with the path to reach its object and the person who gets furthest in."""

    name: str
    pattern: str
    path: str
    huge_paths: dict = field(default_factory=dict)  # the path with a huge id, by that id
    names: set = field(default_factory=set)  # parameter names of its own, beside everyone's
    deep_role: str = "erin"


def parameter_names() -> list[str]:
    """Every query parameter and form field name the portal reads: its forms' and filters' fields (its
    own, allauth's and the admin's), the names its views read from the request, and a few more."""
    names = set(EXTRA_NAMES)
    for form in _subclasses(forms.BaseForm):
        names |= set(getattr(form, "base_fields", {}))
    for filterset in _subclasses(FilterSet):
        for name, declared in filterset.base_filters.items():
            names.add(name)
            names |= {f"{name}_after", f"{name}_before", f"{name}_min", f"{name}_max"} & _range_names(declared, name)
    for app in PROJECT_APPS:
        for source in (PROJECT / app).rglob("*.py"):
            names |= set(READS.findall(source.read_text()))
    return sorted(names)


def _range_names(declared, name) -> set[str]:
    return {f"{name}_{suffix}" for suffix in getattr(declared.field_class.widget, "suffixes", [])}


def _subclasses(cls):
    seen, stack = set(), [cls]
    while stack:
        for sub in stack.pop().__subclasses__():
            if sub not in seen:
                seen.add(sub)
                stack.append(sub)
    return seen


def _id_arguments(pattern: str) -> list[str]:
    """The path arguments that are ids: int or id converters, \\d+ groups and the admin's object_id."""
    found = []
    for match in ARGUMENT.finditer(pattern):
        name = match["name"] or match["group"]
        if match["converter"] in ("int", "id") or match["regex"] == r"\d+" or name == "object_id":
            found.append(name)
    return found


def _fill(pattern: str, values: dict) -> str:
    def value(match):
        name = match["name"] or match["group"]
        if name in values:
            return str(values[name])
        if match["regex"] and "|" in match["regex"]:
            return match["regex"].split("|")[0]
        return NAMED_ARGUMENTS.get(name, "1")

    return "/" + ARGUMENT.sub(value, pattern).replace("^", "").replace("$", "")


def _admin_model(pattern: str):
    match = re.match(r"admin/(\w+)/(\w+)/", pattern)
    try:
        return apps.get_model(match[1], match[2]) if match else None
    except LookupError:
        return None


def _admin_object_id(model):
    first = model.objects.order_by("pk").first() if model is not None else None
    return first.pk if first is not None else 1


def _admin_names(model) -> set[str]:
    """The admin's form fields and changelist filters for `model`: each field, `<field>__exact`, and
    `<relation>__id__exact` (the admin builds its forms per request, so they are named from the model)."""
    if model is None:
        return set()
    names = set()
    for model_field in model._meta.get_fields():
        names |= {model_field.name, f"{model_field.name}__exact"}
        if model_field.is_relation:
            names |= {f"{model_field.name}__id__exact", f"{model_field.name}__pk__exact"}
    return names


def targets(ids: dict, by_name: dict) -> list[Target]:
    found = []
    for name, pattern in patterns():
        id_names = _id_arguments(pattern)
        values = {key: ids[key] for key in id_names if key in ids}
        if "pk" in id_names:
            values["pk"] = by_name.get(name, 1)
        model = _admin_model(pattern)
        if "object_id" in id_names:
            values["object_id"] = _admin_object_id(model)
        if "content_type_id" in id_names:
            values["content_type_id"] = ContentType.objects.get_for_model(apps.get_model("catalog", "entitlement")).pk
        target = Target(name, pattern, _fill(pattern, values), names=_admin_names(model))
        for huge in HUGE:
            if id_names:
                target.huge_paths[huge] = _fill(pattern, dict.fromkeys(id_names, huge))
        target.deep_role = _deep_role(name)
        found.append(target)
    return found


def _deep_role(name: str) -> str:
    """Who the authorization matrix lets furthest into this URL: a governance admin when they may use
    it, else the first person who may (405 means the URL takes POSTs only, from them)."""
    expected = EXPECTED.get(name)
    if expected is None:
        return "erin"
    usable = [role for role, status in zip(MATRIX_ROLES, expected, strict=True) if status in (200, 405)]
    for role in ("erin", "alice", "carol", "dave", "frank"):
        if role in usable:
            return "bob" if role == "dave" else role
    return "erin"


# --- payloads -----------------------------------------------------------------------------------


@dataclass
class Sent:
    method: str
    path: str
    kind: str
    data: object = None
    content_type: str = "application/x-www-form-urlencoded"
    query: str = ""
    headers: dict = field(default_factory=dict)
    deep: bool = False


# Fields that decide which branch a view takes: set to a real choice, so the numbers reach the code
# behind them (a view that refuses an unknown "decision" never reads the ids beside it).
GATES = {"decision": "approve", "action": "revoke"}


def _alternate(names, first, second, **more) -> dict:
    """Every other name gets `first`, the rest `second`: two payloads with the values swapped give every
    name both, in half the requests."""
    return {name: str(first if index % 2 == 0 else second) for index, name in enumerate(names)} | GATES | more


def payloads(target: Target, common: list[str]) -> list[Sent]:
    """Every kind of hostile input for one URL. `deep` marks those that get past the guards to a view's
    own code, and so are sent again as the person who gets furthest in."""
    path, names = target.path, sorted({*common, *target.names})
    huge, negative = 2**64, NEGATIVE[0]
    sent = [
        Sent("POST" if index == 1 else "GET", huge_path, f"id {number} in the path", deep=True)
        for index, (number, huge_path) in enumerate(target.huge_paths.items())
    ]
    sent += [
        Sent(
            "GET",
            path,
            "huge and negative numbers in the query",
            query=_query(_alternate(names, huge, negative)),
            deep=True,
        ),
        Sent(
            "GET",
            path,
            "huge and negative numbers in the query of a CSV export",
            query=_query(_alternate(names, NEGATIVE[1], 2**63, format="csv")),
            deep=True,
        ),
        Sent(
            "GET",
            path,
            "superscript digits and line breaks in the query",
            query=_query(_alternate(names, "²³", CRLF)),
            deep=True,
        ),
        Sent("GET", path, "NUL in the query", query=_query(dict.fromkeys(names, NUL))),
        Sent("GET", path, "invalid UTF-8 in the query", query=_raw_query(names, "%FF%FEx%C0")),
        Sent(
            "POST", path, "huge and negative numbers in the form", _form(_alternate(names, negative, 10**40)), deep=True
        ),
        Sent(
            "POST",
            path,
            "huge and negative numbers in the form, all that match",
            _form(_alternate(names, huge, NEGATIVE[1], all_matching="1")),
            deep=True,
        ),
        Sent(
            "POST",
            path,
            "superscript digits and line breaks in the form",
            _form(_alternate(names, CRLF, "²")),
            deep=True,
        ),
        Sent("POST", path, "NUL in the form", _form(dict.fromkeys(names, NUL))),
        Sent("POST", path, "invalid UTF-8 in the form", _raw_query(names, "%FF%FE").encode() + b"&raw=\xff\xfe\xc0"),
        Sent("POST", path, "JSON nested 100,000 deep", NESTED_JSON, JSON),
        Sent("POST", path, "huge numbers and NUL in JSON", _json_numbers_and_nul(names), JSON),
        Sent("POST", path, "invalid UTF-8 in JSON", b'{"comment": "\xff\xfe\xc0"}', JSON),
        Sent("POST", path, "oversized JSON body", OVERSIZED_JSON, JSON),
        Sent("POST", path, "oversized form body", OVERSIZED_FORM),
        Sent("POST", path, "Content-Length not a number", b"comment=x", headers={"CONTENT_LENGTH": "ten"}),
    ]
    return sent


def _json_numbers_and_nul(names) -> str:
    values = {name: 2**64 if index % 2 == 0 else NUL for index, name in enumerate(names)}
    return json.dumps(values | {"request_ids": [2**64], "item_ids": [NEGATIVE[0]]})


def _form(values: dict) -> bytes:
    return urlencode(values).encode()


def _query(values: dict) -> str:
    return urlencode(values)


def _raw_query(names, raw: str) -> str:
    """Percent-escapes as given: invalid UTF-8 such as %FF must reach the server as sent."""
    return "&".join(f"{quote(name)}={raw}" for name in names)


JSON = "application/json"
NESTED_JSON = "[" * DEPTH + "]" * DEPTH
OVERSIZED_JSON = b'{"justification": "' + b"a" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1) + b'"}'
OVERSIZED_FORM = b"justification=" + b"a" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1)


# --- the API's operations, from its OpenAPI document --------------------------------------------


def hostile_json(schema: dict, components: dict, kind: str, depth: int = 0):
    """A body of the schema's shape whose every number is `kind` (huge or negative) or whose every
    string holds a NUL."""
    while "$ref" in schema:
        schema = components[schema["$ref"].rsplit("/", 1)[1]]
    if "allOf" in schema or "oneOf" in schema or "anyOf" in schema:
        schema = (schema.get("allOf") or schema.get("oneOf") or schema.get("anyOf"))[0]
        return hostile_json(schema, components, kind, depth)
    number = {"huge": 2**64, "negative": NEGATIVE[0], "nul": 1}[kind]
    text = NUL if kind == "nul" else "Deploying the billing service for the Q4 release"
    match schema.get("type"):
        case "object":
            properties = schema.get("properties", {})
            return {
                name: hostile_json(sub, components, kind, depth + 1)
                for name, sub in properties.items()
                if not sub.get("readOnly")
            }
        case "array":
            item = hostile_json(schema.get("items", {}), components, kind, depth + 1)
            return [item, item]
        case "integer" | "number":
            return number
        case "boolean":
            return True
        case _:
            if "enum" in schema:
                return schema["enum"][0] if kind != "nul" else f"{schema['enum'][0]}\x00"
            return text


def api_operations(client: Client, by_name: dict) -> list[tuple[str, str, dict, dict]]:
    response = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200, response.content[:500]
    document = response.json()
    components = document.get("components", {}).get("schemas", {})
    operations = []
    for template, methods in document["paths"].items():
        probe = template.replace("{id}", "1")
        url_name = f"{resolve(probe).namespace}:{resolve(probe).url_name}"
        path = template.replace("{id}", str(by_name.get(url_name, 1)))
        for method, operation in methods.items():
            body = operation.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema")
            operations.append((method.upper(), path, operation, {"schema": body, "components": components}))
    return operations


def api_payloads(method: str, path: str, operation: dict, body: dict) -> list[Sent]:
    parameters = [p["name"] for p in operation.get("parameters", []) if p.get("in") == "query"]
    sent = []
    if parameters:
        sent += [
            Sent(method, path, "huge numbers in the API's query", query=_query(dict.fromkeys(parameters, 2**64))),
            Sent(
                method, path, "negative numbers in the API's query", query=_query(dict.fromkeys(parameters, -(2**63)))
            ),
            Sent(method, path, "NUL in the API's query", query=_query(dict.fromkeys(parameters, NUL))),
        ]
    if body["schema"] is not None:
        for kind in ("huge", "negative", "nul"):
            document = json.dumps(hostile_json(body["schema"], body["components"], kind))
            sent.append(Sent(method, path, f"{kind} values in the API's body", document, JSON, deep=True))
    return sent


# --- sending ------------------------------------------------------------------------------------


class Sender:
    """The six roles' clients; sends each payload in a rolled-back savepoint and notes every 5xx."""

    def __init__(self, people: dict):
        self.clients, self.cookies = {}, {}
        for role, person in people.items():
            client = Client(raise_request_exception=False)
            if person is not None:
                client.force_login(person)
            self.clients[role] = client
            self.cookies[role] = copy.deepcopy(client.cookies)
        self.count = itertools.count(1)
        self.sent = 0
        self.failures: list[str] = []

    def send(self, role: str, payload: Sent) -> int:
        client = self.clients[role]
        client.cookies = copy.deepcopy(self.cookies[role])
        number = next(self.count)
        # An address per request: the token endpoint and allauth limit attempts per address, on a cache
        # other test runs share; a limit reached would stop the payload before it is read.
        extra = {"REMOTE_ADDR": f"fd00::{os.getpid():x}:{number:x}", **payload.headers}
        path = f"{payload.path}?{payload.query}" if payload.query else payload.path
        with transaction.atomic():
            if payload.method == "GET":
                response = client.get(path, **extra)
            else:
                response = client.generic(payload.method, path, payload.data or b"", payload.content_type, **extra)
            transaction.set_rollback(True)
        self.sent += 1
        if response.status_code >= 500:
            self.failures.append(f"{payload.method} {payload.path} [{payload.kind}] as {role}: {self._why(response)}")
        return response.status_code

    @staticmethod
    def _why(response) -> str:
        if response.exc_info:
            error = response.exc_info[1]
            return f"{response.status_code} {type(error).__name__}: {str(error)[:200]}"
        return f"{response.status_code} {response.content[:200]!r}"


@pytest.fixture
def sender(cast, world):
    people = {"anonymous": None, "alice": cast.alice, "bob": cast.bob, "carol": cast.carol}
    people |= {"frank": cast.frank, "erin": cast.erin, "dave": cast.dave}
    return Sender(people)


def test_no_hostile_input_makes_any_url_fail(world, sender):
    ids, by_name = world
    names = parameter_names()
    all_targets = targets(ids, by_name)
    for target in all_targets:
        for index, payload in enumerate(payloads(target, names)):
            role = ROLES[index % len(ROLES)]
            sender.send(role, payload)
            if payload.deep and role != target.deep_role:
                sender.send(target.deep_role, payload)

    assert len(all_targets) > 200
    assert sender.failures == [], f"{len(sender.failures)} of {sender.sent} requests failed:\n" + "\n".join(
        sender.failures
    )


def test_no_hostile_input_makes_any_api_operation_fail(world, sender):
    _, by_name = world
    operations = api_operations(sender.clients["erin"], by_name)
    roles = itertools.cycle(ROLES)
    for method, path, operation, body in operations:
        deep = _deep_role(f"{resolve(path).namespace}:{resolve(path).url_name}")
        for payload in api_payloads(method, path, operation, body):
            role = next(roles)
            sender.send(role, payload)
            if payload.deep and role != deep:
                sender.send(deep, payload)

    assert len(operations) == 28
    assert sender.failures == [], f"{len(sender.failures)} of {sender.sent} requests failed:\n" + "\n".join(
        sender.failures
    )
