"""The cache unreachable: a 503 in words with Retry-After, never a 500.

Only sign-in touches the cache (allauth's limits on attempts, which must not be skipped), so an outage
stops signing in and nothing else; sessions live in the database. The API's views answer the same in
JSON through DRF's exception handler (api/exceptions.py); this catches the pages and anything else.
Broker outages never get here: tasks wait in the outbox (outbox.services).
"""

import logging

from django.http import HttpResponse, JsonResponse
from django.template import loader

from inputs.middleware import under_api
from inputs.refusals import error_body
from outbox.outages import CACHE_ERRORS, RETRY_AFTER_SECONDS, UNAVAILABLE

logger = logging.getLogger(__name__)


class CacheOutageMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not isinstance(exception, CACHE_ERRORS):
            return None
        logger.warning("Cache unreachable on %s %s: %s", request.method, request.path, exception)
        if under_api(request):
            response: HttpResponse = JsonResponse(error_body(UNAVAILABLE), status=503)
        else:
            # No context processors: the page must not need anything else that may be down.
            body = loader.get_template("errors/503.html").render(
                {"message": UNAVAILABLE, "retry_after": RETRY_AFTER_SECONDS}
            )
            response = HttpResponse(body, status=503)
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response
