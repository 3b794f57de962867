"""Answers the two probe paths first of all, so they work as load balancers and orchestrators probe.

A load balancer probes a task by its address (Host: 10.0.0.7), over plain HTTP, behind the TLS it
terminates itself. Further down the chain that request would be refused for its Host (400) and redirected
to HTTPS (301). Here, before any of it, exactly these paths are answered and nothing else: every other
path, and any other method, goes on through host validation and the HTTPS redirect as before. The answer
reads no header and echoes nothing of the request.
"""

from portal.health import probes

PROBE_PATHS = {
    "/health/live": "live",
    "/health/ready": "ready",
    # The older path, kept for what already probes it (make run waits on it).
    "/healthz": "live",
}


class HealthProbeMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        probe = PROBE_PATHS.get(request.path_info)
        if probe is None or request.method not in ("GET", "HEAD"):
            return self.get_response(request)
        return probes.respond(probe)


class QuietProbes:
    """A logging filter: a failing probe answers 503, which Django logs as a server error (and would mail to
    the admins) on every probe while, say, a worker is down. The probe's answer already says why; the
    outage is for monitoring to report, once."""

    def filter(self, record) -> bool:
        request = getattr(record, "request", None)
        return not (getattr(record, "status_code", None) == 503 and getattr(request, "path_info", None) in PROBE_PATHS)
