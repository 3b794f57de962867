"""API throttles that count by the portal's one client-address rule (audit.context.client_address).

DRF's own `get_ident` reads X-Forwarded-For by its own rule; these use the same address as the audit
trail and the sign-in rate limits. Every throttle in the API derives from one of these.
"""

from rest_framework import throttling

from audit.context import client_address


class ClientAddressMixin:
    def get_ident(self, request):
        return client_address(request)


class AnonRateThrottle(ClientAddressMixin, throttling.AnonRateThrottle):
    pass


class UserRateThrottle(ClientAddressMixin, throttling.UserRateThrottle):
    pass


class ScopedRateThrottle(ClientAddressMixin, throttling.ScopedRateThrottle):
    pass
