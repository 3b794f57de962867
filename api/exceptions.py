"""The one place where domain errors from access.services become HTTP responses.

Views never catch Refusal themselves: whatever a service refuses reaches the client with
the status the error class carries (400, 403, 404, 409), its message and the field it concerns.
The cache being unreachable (sign-in limits, `POST /api/token/`) answers 503 with Retry-After.
"""

import logging

from rest_framework.response import Response
from rest_framework.views import exception_handler, set_rollback

from accounts.services import PeopleError
from accounts.tokens import TokenError
from inputs.refusals import Refusal
from outbox.outages import CACHE_ERRORS, RETRY_AFTER_SECONDS, UNAVAILABLE

logger = logging.getLogger(__name__)


def api_exception_handler(exc, context):
    if isinstance(exc, (Refusal, PeopleError, TokenError)):
        # Like DRF does for its own errors: should requests ever run in one transaction, a refusal undoes it.
        set_rollback()
        return Response({"detail": exc.message, "field": getattr(exc, "field", None)}, status=exc.status)
    if isinstance(exc, CACHE_ERRORS):
        logger.warning("Cache unreachable in %s: %s", type(context.get("view")).__name__, exc)
        set_rollback()
        return Response(
            {"detail": UNAVAILABLE, "field": None}, status=503, headers={"Retry-After": str(RETRY_AFTER_SECONDS)}
        )
    return exception_handler(exc, context)


class DomainErrorsMixin:
    """Installs api_exception_handler on a view without touching REST_FRAMEWORK in settings."""

    def get_exception_handler(self):
        return api_exception_handler
