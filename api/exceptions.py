"""The one place where domain errors from access.services become HTTP responses.

Views never catch AccessError themselves: whatever a service refuses reaches the client with
the status the error class carries (400, 403, 404, 409), its message and the field it concerns.
"""

from rest_framework.response import Response
from rest_framework.views import exception_handler, set_rollback

from access.errors import AccessError
from accounts.services import PeopleError
from accounts.tokens import TokenError


def api_exception_handler(exc, context):
    if isinstance(exc, (AccessError, PeopleError, TokenError)):
        # Like DRF does for its own errors: should requests ever run in one transaction, a refusal undoes it.
        set_rollback()
        return Response({"detail": exc.message, "field": getattr(exc, "field", None)}, status=exc.status)
    return exception_handler(exc, context)


class DomainErrorsMixin:
    """Installs api_exception_handler on a view without touching REST_FRAMEWORK in settings."""

    def get_exception_handler(self):
        return api_exception_handler
