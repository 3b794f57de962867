"""Who is acting from where, carried from the request to `audit.services.record` without
threading the request object through every service signature.

`client_address` is the one rule for a request's client address, used by the audit trail (below),
allauth's rate limits (accounts/adapters.py) and the API throttles (api/throttling.py), so an
attacker cannot look like one address to one of them and another address to the next.
"""

import ipaddress
from contextvars import ContextVar

from django.conf import settings

client_ip: ContextVar[str | None] = ContextVar("audit_client_ip", default=None)


def client_address(request) -> str | None:
    """The client's address, trusting exactly `settings.TRUSTED_PROXIES` proxies in front of the portal.

    Each proxy appends the address it was connected from to X-Forwarded-For, so with N trusted proxies
    the Nth entry from the right is the one the outermost trusted proxy saw: the client. Entries to its
    left were written by whoever connected to that proxy, and are ignored. With no trusted proxy (the
    default) the header is ignored altogether and the connection's own address counts. A header with
    fewer entries than trusted proxies did not pass through all of them: the connection's address counts,
    and so it does when the entry is not an address at all (a misconfigured proxy), since the trail stores
    addresses only.
    """
    remote = request.META.get("REMOTE_ADDR") or None
    proxies = settings.TRUSTED_PROXIES
    if proxies == 0:
        return remote
    forwarded = [entry.strip() for entry in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    forwarded = [entry for entry in forwarded if entry]
    if len(forwarded) < proxies:
        return remote
    try:
        return str(ipaddress.ip_address(forwarded[-proxies]))
    except ValueError:
        return remote


class ClientIpMiddleware:
    """Remembers the client address (`client_address`) for audit events written while serving this request."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        token = client_ip.set(client_address(request))
        try:
            return self.get_response(request)
        finally:
            client_ip.reset(token)
