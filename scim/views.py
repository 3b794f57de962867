"""/scim/v2/: Users (create, replace, patch, get, list by userName, delete as leaver) and Groups (the
portal's departments, read-only), for identity providers holding a bearer token.

Small views: authentication and the rate limit, then the body read and checked (scim.resources), then
one service call (scim.services). Every refusal is a SCIM error body (RFC 7644 §3.12) with its status,
never a 500 page: an unexpected error is logged and answered as a SCIM 500 in words.
"""

import base64
import binascii
import json
import logging

from django.contrib.auth.decorators import login_not_required
from django.db.models import Count
from django.http import HttpResponse
from django.urls import reverse
from django.utils.decorators import method_decorator
from django.views import View
from django.views.decorators.csrf import csrf_exempt
from django_scim.constants import SchemaURI  # type: ignore[import-untyped]  # django-scim2 ships no types
from django_scim.exceptions import SCIMException  # type: ignore[import-untyped]  # django-scim2 ships no types
from django_scim.schemas import default_schemas_getter  # type: ignore[import-untyped]  # django-scim2 ships no types

from scim import auth, errors, resources, services
from scim.errors import error_response, scim_response

logger = logging.getLogger(__name__)
MAX_COUNT = 200


@method_decorator([csrf_exempt, login_not_required], name="dispatch")
class ScimView(View):
    http_method_names = ["get", "post", "put", "patch", "delete"]

    def dispatch(self, request, *args, **kwargs):
        try:
            self.provider = auth.authenticate(request)
            auth.throttle(self.provider)
            return super().dispatch(request, *args, **kwargs)
        except SCIMException as refused:
            response = error_response(refused)
            if getattr(refused, "retry_after", None):
                response["Retry-After"] = str(refused.retry_after)
            return response
        except Exception:
            logger.exception("SCIM call failed")
            return error_response(errors.ScimError("The portal could not complete this SCIM call.", 500))

    def http_method_not_allowed(self, request, *args, **kwargs):
        return error_response(errors.ScimError(f"{request.method} is not supported here.", 405))

    def body(self) -> dict:
        """The JSON body as an object: UTF-8, no NUL, no absurd nesting or numbers, or 400 invalidSyntax."""
        try:
            text = self.request.body.decode("utf-8")
            document = json.loads(text) if text.strip() else None
        except UnicodeDecodeError:
            raise errors.invalid_syntax("The body is not valid UTF-8.") from None
        except RecursionError:
            raise errors.invalid_syntax("The body is nested too deeply.") from None
        except ValueError as error:  # bad JSON, and integers beyond Python's digit limit
            raise errors.invalid_syntax(f"The body is not valid JSON: {str(error)[:120]}") from None
        if not isinstance(document, dict):
            raise errors.invalid_syntax("The body must be a JSON object.")
        resources.check_strings(document)
        return document

    def page(self) -> tuple[int, int]:
        """startIndex (1-based) and count, bounded."""
        try:
            start = int(self.request.GET.get("startIndex", "1")[:10])
            count = int(self.request.GET.get("count", str(MAX_COUNT))[:10])
        except ValueError:
            raise errors.invalid_value("startIndex and count must be whole numbers.") from None
        return max(start, 1), min(max(count, 0), MAX_COUNT)

    def list_response(self, resources_, total: int, start: int) -> HttpResponse:
        return scim_response(
            {
                "schemas": [SchemaURI.LIST_RESPONSE],
                "totalResults": total,
                "itemsPerPage": len(resources_),
                "startIndex": start,
                "Resources": resources_,
            }
        )


def _person_id(text: str) -> int:
    if not text or not resources.ID_PATTERN.fullmatch(text):
        raise errors.not_found(f"No person with id {text[:40]!r}.")
    return int(text)


class UsersView(ScimView):
    def location(self, person) -> str:
        return self.request.build_absolute_uri(reverse("scim:user", args=[person.pk]))

    def document(self, person) -> dict:
        return resources.to_dict(person, services.external_id_of(person), self.location(person))

    def answer(self, person, status: int = 200) -> HttpResponse:
        person = services.visible_people(self.provider).select_related("manager", "scim_link").get(pk=person.pk)
        return scim_response(self.document(person), status=status, location=self.location(person))

    def get(self, request, person_id: str | None = None):
        people = services.visible_people(self.provider).select_related("manager", "scim_link")
        if person_id is not None:
            person = people.filter(pk=_person_id(person_id)).first()
            if person is None:
                raise errors.not_found(f"No person with id {person_id[:40]!r}.")
            return scim_response(self.document(person), location=self.location(person))
        start, count = self.page()
        query = request.GET.get("filter")
        if query:
            field, value = resources.parse_filter(query)
            if field == "user_name":
                people = people.filter(email__iexact=value)
            elif field == "external_id":
                people = people.filter(scim_link__provider=self.provider, scim_link__external_id=value)
            elif field == "display_name":
                people = people.filter(full_name=value)
            else:
                people = people.filter(pk=_person_id(value)) if resources.ID_PATTERN.fullmatch(value) else people.none()
        people = people.order_by("pk")
        total = people.count()
        page = [self.document(person) for person in people[start - 1 : start - 1 + count]]
        return self.list_response(page, total, start)

    def post(self, request, person_id: str | None = None):
        if person_id is not None:
            raise errors.ScimError("POST creates a person at /Users.", 405)
        person = services.create_user(provider=self.provider, data=resources.from_body(self.body()))
        return self.answer(person, status=201)

    def put(self, request, person_id: str | None = None):
        data = resources.from_body(self.body())
        person = services.update_user(
            provider=self.provider, person_id=_person_id(person_id or ""), change=lambda _: data, verb="replaced"
        )
        return self.answer(person)

    def patch(self, request, person_id: str | None = None):
        body = self.body()
        if SchemaURI.PATCH_OP not in (body.get("schemas") or [SchemaURI.PATCH_OP]):
            raise errors.invalid_syntax(f"A PATCH body's schemas must include {SchemaURI.PATCH_OP}.")
        operations = body.get("Operations")
        person = services.update_user(
            provider=self.provider,
            person_id=_person_id(person_id or ""),
            change=lambda data: resources.patched(data, operations),
            verb="patched",
        )
        return self.answer(person)

    def delete(self, request, person_id: str | None = None):
        services.delete_user(provider=self.provider, person_id=_person_id(person_id or ""))
        return HttpResponse(status=204)


def _group_id(department: str) -> str:
    return base64.urlsafe_b64encode(department.encode()).decode().rstrip("=")


def _department(group_id: str) -> str | None:
    if len(group_id) > 200:
        return None
    try:
        return base64.urlsafe_b64decode(group_id + "=" * (-len(group_id) % 4)).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None


class GroupsView(ScimView):
    """Departments, as the people's `department` names them: read-only (the HR data is the source)."""

    def group(self, department: str, members: list | None = None) -> dict:
        document = {
            "schemas": [SchemaURI.GROUP],
            "id": _group_id(department),
            "displayName": department,
            "meta": {
                "resourceType": "Group",
                "location": self.request.build_absolute_uri(reverse("scim:group", args=[_group_id(department)])),
            },
        }
        if members is not None:
            document["members"] = members
        return document

    def get(self, request, group_id: str | None = None):
        people = services.visible_people(self.provider).exclude(department="")
        if group_id is not None:
            department = _department(group_id)
            if not department or not people.filter(department=department).exists():
                raise errors.not_found("No such department.")
            members = [
                {"value": str(pk), "display": name}
                for pk, name in people.filter(department=department, is_active=True)
                .order_by("pk")
                .values_list("pk", "full_name")[:1000]
            ]
            return scim_response(self.group(department, members))
        start, count = self.page()
        departments = people.values("department").annotate(size=Count("pk")).order_by("department")
        query = request.GET.get("filter")
        if query:
            _, value = resources.parse_filter(query, {"displayname": "display_name"})
            departments = departments.filter(department=value)
        names = [row["department"] for row in departments]
        page = [self.group(name) for name in names[start - 1 : start - 1 + count]]
        return self.list_response(page, len(names), start)

    def _read_only(self, request, *args, **kwargs):
        raise errors.ScimError(
            "Groups are the portal's departments and are read-only: set each person's department instead.", 403
        )

    post = put = patch = delete = _read_only


class ServiceProviderConfigView(ScimView):
    http_method_names = ["get"]

    def get(self, request):
        return scim_response(
            {
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"],
                "patch": {"supported": True},
                "bulk": {"supported": False, "maxOperations": 0, "maxPayloadSize": 0},
                "filter": {"supported": True, "maxResults": MAX_COUNT},
                "changePassword": {"supported": False},
                "sort": {"supported": False},
                "etag": {"supported": False},
                "authenticationSchemes": [
                    {
                        "type": "oauthbearertoken",
                        "name": "Bearer token",
                        "description": "A token per identity provider: manage.py scim_token <name>.",
                    }
                ],
            }
        )


class SchemasView(ScimView):
    http_method_names = ["get"]

    def get(self, request):
        schemas = sorted(default_schemas_getter(), key=lambda schema: schema["id"])
        return self.list_response(schemas, len(schemas), 1)


class NotSupportedView(ScimView):
    """What RFC 7644 defines and the portal does not do (501), and paths it does not know (404), in SCIM's
    words rather than the portal's HTML pages."""

    status = 404

    def refuse(self, request, *args, **kwargs):
        if self.status == 501:
            raise errors.ScimError("Not supported here (see ServiceProviderConfig).", 501)
        raise errors.not_found("No such SCIM endpoint.")

    get = post = put = patch = delete = refuse
