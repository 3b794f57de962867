"""The one place where what a service refuses becomes an API answer: REST_FRAMEWORK["EXCEPTION_HANDLER"].

Every error the API answers has one body, `inputs.refusals.error_body` (the `Error` component of the
schema, `api.schema`): {"detail": words, "field": the input concerned or null, "errors": {field: [messages]}}.
Views never catch refusals themselves: whatever a service refuses (`inputs.refusals`, and the token
service's `TokenError`) reaches the client with the status it carries (400, 403, 404, 409), `errors` empty.
Services translate a model's own check into a refusal (separation-of-duties rules too); validation,
DRF's or a model's own check (Django's ValidationError) should one get here, answers 400 with every message in
`errors`, nested fields named by their path ("items.1.entitlement"), the first one repeated in `detail` and
`field`. DRF's own refusals (401, 403, 404, 405, 415, 429) keep their words and headers, and any key they
add (the `code` of an MFA or step-up refusal). The cache being unreachable (sign-in limits,
`POST /api/token/`) answers 503 with Retry-After. Anything else is a 500, answered by `portal.views.error_500`.
"""

import logging
from collections.abc import Iterator, Mapping
from typing import Any

from django.core.exceptions import ValidationError as ModelValidationError
from rest_framework.response import Response
from rest_framework.serializers import ValidationError, as_serializer_error
from rest_framework.settings import api_settings
from rest_framework.views import exception_handler, set_rollback

from accounts.tokens import TokenError
from inputs.refusals import Refusal, error_body
from outbox.outages import CACHE_ERRORS, RETRY_AFTER_SECONDS, UNAVAILABLE

logger = logging.getLogger(__name__)


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, (Refusal, TokenError)):
        # Like DRF does for its own errors: should requests ever run in one transaction, a refusal undoes it.
        set_rollback()
        return Response(error_body(exc.message, getattr(exc, "field", None)), status=exc.status)
    if isinstance(exc, ModelValidationError):
        exc = ValidationError(as_serializer_error(exc))
    if isinstance(exc, CACHE_ERRORS):
        logger.warning("Cache unreachable in %s: %s", type(context.get("view")).__name__, exc)
        set_rollback()
        return Response(error_body(UNAVAILABLE), status=503, headers={"Retry-After": str(RETRY_AFTER_SECONDS)})
    response = exception_handler(exc, context)
    if response is not None:
        words = not isinstance(exc, ValidationError) and isinstance(response.data, dict) and "detail" in response.data
        response.data = refusal_body(response.data) if words else validation_body(response.data)
    return response


def validation_body(detail: object) -> dict:
    """DRF's validation errors, however nested, as {"items.1.entitlement": [messages]}; the first repeated on top."""
    errors = dict(_messages_by_field(detail, ""))
    field, messages = next(iter(errors.items()), (api_settings.NON_FIELD_ERRORS_KEY, ["The input is not valid."]))
    return error_body(messages[0], None if field == api_settings.NON_FIELD_ERRORS_KEY else field, errors)


def _messages_by_field(detail: object, path: str) -> Iterator[tuple[str, list[str]]]:
    if isinstance(detail, dict):
        for key, value in detail.items():
            yield from _messages_by_field(value, f"{path}.{key}" if path else str(key))
    elif isinstance(detail, list) and any(isinstance(item, (dict, list)) for item in detail):
        # A list of items (many=True) or of lists: one entry per item, {} for the items that were valid.
        for index, item in enumerate(detail):
            yield from _messages_by_field(item, f"{path}.{index}" if path else str(index))
    elif detail:
        messages = detail if isinstance(detail, list) else [detail]
        yield path or api_settings.NON_FIELD_ERRORS_KEY, [str(message) for message in messages]


def refusal_body(data: Mapping[str, object]) -> dict:
    """DRF's {"detail": words} (with a `code` where an MFA or step-up refusal adds one) in the one shape."""
    extra = {key: str(value) for key, value in data.items() if key not in ("detail", "field", "errors")}
    # `errors` given (empty) so that `extra` can only fill error_body's **extra, never one of its three keys.
    return error_body(str(data["detail"]), None, None, **extra)
