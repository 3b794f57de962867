"""The schema's one error shape: every 4xx and 5xx response of every operation is the `Error` component.

Views document the refusals they answer (`api.views.base`: BAD_REQUEST, FORBIDDEN, NOT_FOUND, CONFLICT);
this hook (SPECTACULAR_SETTINGS["POSTPROCESSING_HOOKS"]) holds every error response to the one body the API
sends (`inputs.refusals.error_body`), whatever a view declared, and documents the 401 every operation that
needs a caller answers without one.
"""

from typing import Any

from drf_spectacular.generators import SchemaGenerator
from rest_framework.request import Request

ERROR = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
UNAUTHENTICATED = "No valid token or session: sign in, or send `Authorization: Token <key>`."


def errors_are_one_shape(
    result: dict[str, Any], generator: SchemaGenerator, request: Request | None, public: bool
) -> dict[str, Any]:
    for operations in result.get("paths", {}).values():
        for operation in operations.values():
            responses = operation.get("responses", {})
            if operation.get("security") and {} not in operation["security"]:
                responses.setdefault("401", {"description": UNAUTHENTICATED})
            for status, response in responses.items():
                if status[0] in "45":
                    response["content"] = ERROR
    return result
