"""Who is acting from where, carried from the request to `audit.services.record` without
threading the request object through every service signature."""

from contextvars import ContextVar

client_ip: ContextVar[str | None] = ContextVar("audit_client_ip", default=None)


class ClientIpMiddleware:
    """Remembers the client address for audit events written while serving this request.

    REMOTE_ADDR is used as is: behind a proxy, the proxy must be the one setting it
    (for example gunicorn's --forwarded-allow-ips), never a client-supplied header.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        token = client_ip.set(request.META.get("REMOTE_ADDR") or None)
        try:
            return self.get_response(request)
        finally:
            client_ip.reset(token)
