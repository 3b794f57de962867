"""Who is calling /scim/v2/: an identity provider's bearer token, and how often it may call."""

import logging
import time

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest

from outbox.outages import CACHE_ERRORS
from scim import errors
from scim.models import IdentityProvider
from scim.tokens import provider_for

logger = logging.getLogger(__name__)


def authenticate(request: HttpRequest) -> IdentityProvider:
    """The provider whose token the request carries; 401 for none, a malformed or an unknown one."""
    header = request.META.get("HTTP_AUTHORIZATION", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise errors.ScimError("A bearer token is required (Authorization: Bearer <token>).", 401)
    provider = provider_for(token.strip())
    if provider is None:
        raise errors.ScimError("The bearer token is not valid.", 401)
    return provider


def throttle(provider: IdentityProvider) -> None:
    """At most settings.SCIM_REQUESTS_PER_MINUTE per provider, counted in the cache per clock minute.

    A fixed window: an IdP may reach twice the rate across a minute's edge, which is enough to stop a
    runaway client from starving the portal. 429 with Retry-After, which Okta and Entra both honour.
    """
    limit = settings.SCIM_REQUESTS_PER_MINUTE
    window = int(time.time() // 60)
    key = f"scim:rate:{provider.pk}:{provider.token_digest[:16]}:{window}"
    try:
        cache.add(key, 0, timeout=120)
        try:
            count = cache.incr(key)
        except ValueError:  # expired between add and incr
            cache.set(key, 1, timeout=120)
            count = 1
    except CACHE_ERRORS as error:
        # Uncounted rather than refused: a leaver's deactivation must not wait for the cache (NIST AC-2(3));
        # the token was still checked against the database.
        logger.warning("SCIM calls of %s not counted, the cache is unreachable: %s", provider, error)
        return
    if count > limit:
        refusal = errors.ScimError(f"Too many requests: at most {limit} a minute.", 429)
        refusal.retry_after = 60 - int(time.time()) % 60
        raise refusal
