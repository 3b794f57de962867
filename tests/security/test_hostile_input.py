"""Hostile input: whatever a person or a script sends, no answer is a 5xx.

Every URL pattern Django's resolver knows (the admin's and allauth's included) and every operation of
the served OpenAPI document get: ids beyond 64 bits (2**63, 2**64, 10**40) and negative ones in the
path, the query string, the form and the JSON body; superscript digits ("²" is a digit to
str.isdigit, not to int) and line breaks where numbers are read; NUL bytes; invalid UTF-8 in the query
string and the body; JSON nested 100,000 deep; a body past DATA_UPLOAD_MAX_MEMORY_SIZE and a
Content-Length that is not a number; as GET and as POST.

The parameter names are the portal's own: its forms' and filters' fields, allauth's, the admin's for
each model, and every name a view reads from the request (found in the source), all in one request.

Roles: the payloads refused before any view (NUL, UTF-8, size, nesting) go to each URL as the six
roles in turn, so every role sends several to every URL. Those that reach a view's own code (numbers,
digits, line breaks, ids in the path) go as the person who gets furthest in (a governance admin, or
whoever the authorization matrix lets in) and as the next role in turn (in the admin, only its staff
get past the sign-in); to a URL that takes POSTs only, as all six, since a GET cannot tell who gets
further.

Each request runs in a savepoint rolled back after it, with the client's cookies put back, so a POST
that is rightly carried out (signing out, marking a leaver) changes nothing for the next one. The
client does not raise a view's exception: each 5xx is counted and named, with its exception, at the end.
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

ROLES = ["anonymous", "alice", "bob", "carol", "frank", "erin"]
# The authorization matrix's columns (tests/security/test_authorization_matrix.py): Dave there.
MATRIX_ROLES = ["anonymous", "alice", "dave", "carol", "frank", "erin"]

HUGE = [2**63, 2**64, 10**40]
NEGATIVE = [-(2**63) - 1, -(10**40)]
NUL = "hostile\x00text"
CRLF = "a\r\nSet-Cookie: hostile=1"
SUPERSCRIPT = "²³"
DEPTH = 100_000
JSON = "application/json"
FORM = "application/x-www-form-urlencoded"
NESTED_JSON = "[" * DEPTH + "]" * DEPTH
OVERSIZED_JSON = b'{"justification": "' + b"a" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1) + b'"}'
OVERSIZED_FORM = b"justification=" + b"a" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1)

PROJECT_APPS = ["access", "accounts", "api", "audit", "catalog", "iam", "inputs", "notifications", "portal"]
PROJECT_APPS += ["posture", "reviews", "sod"]
# Names a view reads itself: request.GET.get("page"), query_params.get("state"), POST.getlist("items").
READS = re.compile(r"""(?:GET|POST|query_params|params)\.(?:get|getlist|pop)\(\s*["']([\w-]+)["']""")
# Names no form or filter declares: the admin's changelist (page, order, search, action), forms built
# per request (the cart's duration_<id>), the API's lists of ids.
EXTRA_NAMES = {"p", "o", "q", "id__exact", "_changelist_filters", "duration_1", "request_ids", "item_ids"}
EXTRA_NAMES |= {"_selected_action", "index", "select_across"}  # an admin action's ticked rows
# Fields that decide which branch a view takes: a real choice, so the numbers beside them are read.
GATES = {"decision": "approve", "action": "revoke"}
# Path arguments that are not ids.
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


# --- what to send it to -------------------------------------------------------------------------


@dataclass
class Target:
    """One URL pattern: the path to its object, the same with a huge id, who gets furthest in."""

    name: str
    path: str
    huge_paths: dict = field(default_factory=dict)
    names: set = field(default_factory=set)  # parameter names of its own, beside everyone's
    deep_role: str = "erin"
    post_only: bool = False


def targets(ids: dict, by_name: dict) -> list[Target]:
    found = []
    for name, pattern in patterns():
        id_names = _id_arguments(pattern)
        values = {key: ids[key] for key in id_names if key in ids}
        if "pk" in id_names:
            values["pk"] = by_name.get(name, 1)
        model = _admin_model(pattern)
        if "object_id" in id_names:
            values["object_id"] = _first_id(model)
        if "content_type_id" in id_names:
            values["content_type_id"] = ContentType.objects.get_for_model(apps.get_model("catalog", "entitlement")).pk
        expected = EXPECTED.get(name)
        found.append(
            Target(
                name,
                _fill(pattern, values),
                huge_paths={huge: _fill(pattern, dict.fromkeys(id_names, huge)) for huge in HUGE if id_names},
                names=_admin_names(model),
                deep_role=_deep_role(expected),
                post_only=expected is not None and 405 in expected and 200 not in expected,
            )
        )
    return found


def _id_arguments(pattern: str) -> list[str]:
    """The path arguments that are ids: int or id converters, \\d+ groups, the admin's object_id."""
    found = []
    for match in ARGUMENT.finditer(pattern):
        name = match["name"] or match["group"]
        if match["converter"] in ("int", "id") or match["regex"] in (r"\d+", "[0-9]{1,18}") or name == "object_id":
            found.append(name)
    return found


def _fill(pattern: str, values: dict) -> str:
    def value(match):
        name = match["name"] or match["group"]
        if name in values:
            return str(values[name])
        if match["regex"] and "|" in match["regex"]:  # the admin's app_label: one of the apps
            return match["regex"].split("|")[0]
        return NAMED_ARGUMENTS.get(name, "1")

    return "/" + ARGUMENT.sub(value, pattern).replace("^", "").replace("$", "")


def _admin_model(pattern: str):
    match = re.match(r"admin/(\w+)/(\w+)/", pattern)
    try:
        return apps.get_model(match[1], match[2]) if match else None
    except LookupError:
        return None


def _first_id(model):
    first = model.objects.order_by("pk").first() if model is not None else None
    return first.pk if first is not None else 1


def _admin_names(model) -> set[str]:
    """The admin's form fields and changelist filters for `model` (it builds its forms per request,
    so they are named from the model): each field, `<field>__exact`, `<relation>__id__exact`."""
    if model is None:
        return set()
    names = set()
    for model_field in model._meta.get_fields():
        names |= {model_field.name, f"{model_field.name}__exact"}
        if model_field.is_relation:
            names.add(f"{model_field.name}__id__exact")
    return names


def _deep_role(expected) -> str:
    """Who the authorization matrix lets furthest in: a governance admin when they may use the URL,
    else the first person who may (Bob stands in for Dave, the other manager)."""
    if expected is None:
        return "erin"
    usable = [role for role, status in zip(MATRIX_ROLES, expected, strict=True) if status in (200, 405)]
    role = next((role for role in ("erin", "alice", "carol", "dave", "frank") if role in usable), "erin")
    return "bob" if role == "dave" else role


def parameter_names() -> list[str]:
    """Every query parameter and form field name the portal reads: the fields of its forms and
    allauth's, its filters', and the names its views read from the request."""
    names = set(EXTRA_NAMES)
    for form in _subclasses(forms.BaseForm):
        if form.__module__.split(".")[0] in [*PROJECT_APPS, "allauth"]:
            names |= set(getattr(form, "base_fields", {}))
    for filterset in _subclasses(FilterSet):
        for name, declared in filterset.base_filters.items():
            names.add(name)
            names |= {f"{name}_{suffix}" for suffix in getattr(declared.field_class.widget, "suffixes", [])}
    for app in PROJECT_APPS:
        for source in (Path(settings.BASE_DIR) / app).rglob("*.py"):
            names |= set(READS.findall(source.read_text()))
    return sorted(names)


def _subclasses(cls) -> set:
    seen, stack = set(), [cls]
    while stack:
        for sub in stack.pop().__subclasses__():
            if sub not in seen:
                seen.add(sub)
                stack.append(sub)
    return seen


# --- what to send -------------------------------------------------------------------------------


@dataclass
class Sent:
    method: str
    path: str
    kind: str
    data: bytes | str = b""
    content_type: str = FORM
    query: str = ""
    headers: dict = field(default_factory=dict)
    # Gets past the guards to a view's own code, so is sent as whoever gets furthest in.
    deep: bool = False


def _cycle(names, values, shift: int = 0, **more) -> dict:
    """Each name one of `values` in turn (shifted by `shift`): two payloads shifted by one give every
    name a number and a non-number, in half the requests one value each would take."""
    return {name: str(values[(i + shift) % len(values)]) for i, name in enumerate(names)} | GATES | more


def payloads(target: Target, common: list[str]) -> list[Sent]:
    path, names = target.path, sorted({*common, *target.names})
    junk = [2**64, SUPERSCRIPT, NEGATIVE[0], CRLF]
    junk_in_form = [10**40, SUPERSCRIPT, NEGATIVE[1], CRLF]
    sent = [
        Sent("POST" if index == 1 else "GET", huge_path, f"id {number} in the path", deep=True)
        for index, (number, huge_path) in enumerate(target.huge_paths.items())
    ]
    return [
        *sent,
        Sent(
            "GET",
            path,
            "huge numbers, digits, line breaks in the query",
            query=urlencode(_cycle(names, junk)),
            deep=True,
        ),
        Sent(
            "GET",
            path,
            "huge numbers, digits, line breaks in the query of a CSV export",
            query=urlencode(_cycle(names, junk, 1, format="csv")),
            deep=True,
        ),
        Sent("GET", path, "NUL in the query", query=urlencode(dict.fromkeys(names, NUL))),
        Sent("GET", path, "invalid UTF-8 in the query", query=_raw(names, "%FF%FEx%C0")),
        Sent(
            "POST",
            path,
            "huge numbers, digits, line breaks in the form, from htmx",
            _form(_cycle(names, junk_in_form)),
            headers={"HTTP_HX_REQUEST": "true"},
            deep=True,
        ),
        Sent(
            "POST",
            path,
            "huge numbers, digits, line breaks in the form, all that match, an admin action",
            _form(_cycle(names, junk_in_form, 1, all_matching="1", action="delete_selected")),
            deep=True,
        ),
        Sent("POST", path, "NUL in the form", _form(dict.fromkeys(names, NUL))),
        Sent("POST", path, "invalid UTF-8 in the form", _raw(names, "%FF%FE").encode() + b"&raw=\xff\xfe\xc0"),
        Sent("POST", path, "JSON nested 100,000 deep", NESTED_JSON, JSON),
        Sent("POST", path, "huge numbers and NUL in JSON", _numbers_and_nul(names), JSON),
        Sent("POST", path, "invalid UTF-8 in JSON", b'{"comment": "\xff\xfe\xc0"}', JSON),
        Sent("POST", path, "oversized JSON body", OVERSIZED_JSON, JSON),
        Sent("POST", path, "oversized form body", OVERSIZED_FORM),
        Sent("POST", path, "Content-Length not a number", b"comment=x", headers={"CONTENT_LENGTH": "ten"}),
    ]


def _raw(names, escaped: str) -> str:
    """Percent-escapes as given: invalid UTF-8 such as %FF must reach the server as sent."""
    return "&".join(f"{quote(name)}={escaped}" for name in names)


def _form(values: dict) -> bytes:
    return urlencode(values).encode()


def _numbers_and_nul(names) -> str:
    values = {name: 2**64 if index % 2 == 0 else NUL for index, name in enumerate(names)}
    return json.dumps(values | {"request_ids": [2**64], "item_ids": [NEGATIVE[0]]})


# --- the API's operations, from its OpenAPI document --------------------------------------------


def api_operations(client: Client, by_name: dict) -> list[tuple]:
    """(method, path with a real id, operation, request body schema, component schemas) for each."""
    response = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200, response.content[:500]
    document = response.json()
    components = document.get("components", {}).get("schemas", {})
    operations = []
    for template, methods in document["paths"].items():
        path = template.replace("{id}", str(by_name.get(_url_name(template.replace("{id}", "1")), 1)))
        for method, operation in methods.items():
            body = operation.get("requestBody", {}).get("content", {}).get(JSON, {}).get("schema")
            operations.append((method.upper(), path, operation, body, components))
    return operations


def _url_name(path: str) -> str:
    match = resolve(path)
    return f"{match.namespace}:{match.url_name}"


def api_payloads(method: str, path: str, operation: dict, body, components) -> list[Sent]:
    """Query parameters from the document, and bodies of the documented shape whose every number is
    huge or negative, or whose every string holds a NUL."""
    parameters = [p["name"] for p in operation.get("parameters", []) if p.get("in") == "query"]
    sent = []
    if parameters:
        for label, value in (("huge", 2**64), ("negative", -(2**63) - 1), ("superscript", SUPERSCRIPT)):
            query = urlencode(dict.fromkeys(parameters, value))
            sent.append(Sent(method, path, f"{label} values in the API's query", query=query, deep=True))
        sent.append(Sent(method, path, "NUL in the API's query", query=urlencode(dict.fromkeys(parameters, NUL))))
    if body is not None:
        for kind in ("huge", "negative", "nul"):
            document = json.dumps(shaped_like(body, components, kind))
            sent.append(Sent(method, path, f"{kind} values in the API's body", document, JSON, deep=kind != "nul"))
    return sent


def shaped_like(schema: dict, components: dict, kind: str):
    while "$ref" in schema:
        schema = components[schema["$ref"].rsplit("/", 1)[1]]
    for combined in ("allOf", "oneOf", "anyOf"):
        if combined in schema:
            return shaped_like(schema[combined][0], components, kind)
    match schema.get("type"):
        case "object":
            properties = schema.get("properties", {}).items()
            return {name: shaped_like(sub, components, kind) for name, sub in properties if not sub.get("readOnly")}
        case "array":
            return [shaped_like(schema.get("items", {}), components, kind)] * 2
        case "integer" | "number":
            return {"huge": 2**64, "negative": NEGATIVE[0], "nul": 1}[kind]
        case "boolean":
            return True
        case _:
            text = schema["enum"][0] if "enum" in schema else "Deploying the billing service for the Q4 release"
            return f"{text}\x00" if kind == "nul" else text


# --- sending ------------------------------------------------------------------------------------


class Sender:
    """The roles' clients; sends each payload in a rolled-back savepoint and notes every 5xx."""

    def __init__(self, people: dict):
        self.clients, self.cookies = {}, {}
        for role, person in people.items():
            client = Client(raise_request_exception=False)
            if person is not None:
                client.force_login(person)
            self.clients[role] = client
            self.cookies[role] = copy.deepcopy(client.cookies)
        self.numbers = itertools.count(1)
        self.sent = 0
        self.failures: list[str] = []

    def send(self, role: str, payload: Sent) -> int:
        client = self.clients[role]
        client.cookies = copy.deepcopy(self.cookies[role])
        # An address per request: the token endpoint and allauth limit attempts per address on a cache
        # other test runs share, and a limit reached would stop the payload before it is read.
        extra = {"REMOTE_ADDR": f"fd00::{os.getpid():x}:{next(self.numbers):x}", **payload.headers}
        path = f"{payload.path}?{payload.query}" if payload.query else payload.path
        with transaction.atomic():
            if payload.method == "GET":
                response = client.get(path, **extra)
            else:
                response = client.generic(payload.method, path, payload.data, payload.content_type, **extra)
            transaction.set_rollback(True)
        self.sent += 1
        # Readiness answers 503 while a worker or beat is not there: that is its answer, not a failure.
        probe_answer = payload.path == "/health/ready" and response.status_code == 503
        if response.status_code >= 500 and not probe_answer:
            self.failures.append(f"{payload.method} {payload.path} [{payload.kind}] as {role}: {_why(response)}")
        return response.status_code

    def report(self) -> str:
        return f"{len(self.failures)} of {self.sent} requests failed:\n" + "\n".join(self.failures)


def _why(response) -> str:
    if response.exc_info:
        error = response.exc_info[1]
        return f"{response.status_code} {type(error).__name__}: {str(error)[:200]}"
    return f"{response.status_code} {response.content[:200]!r}"


def senders(target: Target, payload: Sent, index: int) -> list[str]:
    in_turn = ROLES[index % len(ROLES)]
    if not payload.deep:
        return [in_turn]
    if target.post_only:
        return ROLES
    if target.name.startswith("admin:"):  # the others are sent to sign in (test_authorization_matrix)
        return [target.deep_role]
    return list(dict.fromkeys([target.deep_role, in_turn]))


@pytest.fixture
def sender(cast, world):
    people = {"anonymous": None, "alice": cast.alice, "bob": cast.bob, "carol": cast.carol}
    return Sender(people | {"frank": cast.frank, "erin": cast.erin})


def sweep(sender: Sender, all_targets: list[Target]) -> None:
    names = parameter_names()
    for target in all_targets:
        for index, payload in enumerate(payloads(target, names)):
            for role in senders(target, payload, index):
                sender.send(role, payload)


# Some 7,000 requests, more with every page added: on SQLite, on a busy two-core machine, ten minutes.
@pytest.mark.timeout(1800)
def test_no_hostile_input_makes_any_url_fail(world, sender):
    all_targets = targets(*world)

    sweep(sender, all_targets)

    assert len(all_targets) > 250
    assert sender.sent > 20 * len(all_targets)
    assert sender.failures == [], sender.report()


def test_no_hostile_input_makes_any_api_operation_fail(world, sender):
    _, by_name = world
    operations = api_operations(sender.clients["erin"], by_name)

    turn = itertools.count()
    for method, path, operation, body, components in operations:
        deep = _deep_role(EXPECTED.get(_url_name(path)))
        for payload in api_payloads(method, path, operation, body, components):
            in_turn = ROLES[next(turn) % len(ROLES)]
            for role in dict.fromkeys([deep, in_turn] if payload.deep else [in_turn]):
                sender.send(role, payload)

    assert len(operations) == 34  # every operation of the schema (tests/api/test_schema.py counts them too)
    assert sender.failures == [], sender.report()


def test_the_sweep_counts_a_failing_view_as_a_failure(settings, cast, world, sender):
    """The client is told not to raise a view's exception: make sure a 500 is then counted, not lost."""
    settings.ROOT_URLCONF = "tests.security.failing_urls"

    sweep(sender, [Target("probe_fail", "/__probe__/fail/", deep_role="alice")])

    assert sender.failures, "the probe's 500s went unnoticed"
    assert all(" /__probe__/fail/ [" in failure and "500 ConnectionError" in failure for failure in sender.failures)
