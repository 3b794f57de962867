"""SCIM error responses (RFC 7644 §3.12), built on django-scim2's exceptions, one per refusal."""

import json

from django.http import HttpResponse
from django_scim import constants  # type: ignore[import-untyped]  # django-scim2 ships no types
from django_scim.exceptions import SCIMException  # type: ignore[import-untyped]  # django-scim2 ships no types


class ScimError(SCIMException):
    """A refusal with its HTTP status and, for 400 and 409, the SCIM `scimType`."""

    def __init__(self, detail: str, status: int = 400, scim_type: str | None = None) -> None:
        super().__init__(detail, status=status, scim_type=scim_type)

    def to_dict(self) -> dict:
        # RFC 7644 §3.12 gives the status as a string ("400"); django-scim2 sends a number.
        return {**super().to_dict(), "status": str(self.status)}


def invalid_value(detail: str) -> ScimError:
    return ScimError(detail, 400, "invalidValue")


def invalid_syntax(detail: str) -> ScimError:
    return ScimError(detail, 400, "invalidSyntax")


def invalid_path(detail: str) -> ScimError:
    return ScimError(detail, 400, "invalidPath")


def mutability(detail: str) -> ScimError:
    return ScimError(detail, 400, "mutability")


def uniqueness(detail: str) -> ScimError:
    return ScimError(detail, 409, "uniqueness")


def not_found(detail: str = "No such resource.") -> ScimError:
    return ScimError(detail, 404)


def scim_response(document: dict, status: int = 200, location: str | None = None) -> HttpResponse:
    response = HttpResponse(json.dumps(document), content_type=constants.SCIM_CONTENT_TYPE, status=status)
    if location:
        response["Location"] = location
    return response


def error_response(error: SCIMException) -> HttpResponse:
    response = scim_response(error.to_dict(), status=error.status)
    if error.status == 401:
        response["WWW-Authenticate"] = 'Bearer realm="scim"'
    return response
