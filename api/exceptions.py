"""The one place where what a service refuses becomes an API answer: REST_FRAMEWORK["EXCEPTION_HANDLER"].

Views never catch refusals themselves: whatever a service refuses (`inputs.refusals`, and the token
service's `TokenError`) reaches the client with the status it carries (400, 403, 404, 409) as
{"detail": message, "field": the input it concerns or null} (`api.serializers.common.ErrorSerializer`).
Services translate a model's own check into a refusal (separation-of-duties rules too); should Django's
ValidationError reach here all the same, it answers 400 as DRF's validation does, {field name: [messages]},
as a serializer's own checks do. DRF's own refusals keep DRF's {"detail": message}.
The cache being unreachable (sign-in limits, `POST /api/token/`) answers 503 with Retry-After.
"""

import logging

from django.core.exceptions import ValidationError as ModelValidationError
from rest_framework.response import Response
from rest_framework.serializers import ValidationError, as_serializer_error
from rest_framework.views import exception_handler, set_rollback

from accounts.tokens import TokenError
from inputs.refusals import Refusal
from outbox.outages import CACHE_ERRORS, RETRY_AFTER_SECONDS, UNAVAILABLE

logger = logging.getLogger(__name__)


def api_exception_handler(exc, context):
    if isinstance(exc, (Refusal, TokenError)):
        # Like DRF does for its own errors: should requests ever run in one transaction, a refusal undoes it.
        set_rollback()
        return Response({"detail": exc.message, "field": getattr(exc, "field", None)}, status=exc.status)
    if isinstance(exc, ModelValidationError):
        exc = ValidationError(as_serializer_error(exc))
    if isinstance(exc, CACHE_ERRORS):
        logger.warning("Cache unreachable in %s: %s", type(context.get("view")).__name__, exc)
        set_rollback()
        return Response(
            {"detail": UNAVAILABLE, "field": None}, status=503, headers={"Retry-After": str(RETRY_AFTER_SECONDS)}
        )
    return exception_handler(exc, context)
