"""Gunicorn for the portal in production: `gunicorn portal.wsgi -c gunicorn.conf.py` (the Procfile's `web`).

Every value can be set from the environment; the defaults suit one machine behind a reverse proxy (or a load
balancer) that terminates TLS on the same host.
"""

import json
import multiprocessing
import os
from datetime import UTC, datetime

from gunicorn.glogging import Logger


def _int(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    return int(value) if value else default


# The proxy in front connects here. 127.0.0.1 when it runs on this machine; 0.0.0.0:8000 in a container.
bind = os.environ.get("PORTAL_BIND", "127.0.0.1:8000")
# Sync workers: pages are short and CPU-bound on Django's side; an evidence PDF of 100,000 lines takes ~30 s and
# holds one worker meanwhile. Gunicorn's rule of thumb, two per core plus one, unless PORTAL_WEB_WORKERS says.
workers = _int("PORTAL_WEB_WORKERS", multiprocessing.cpu_count() * 2 + 1)
# A request past this is killed and logged: above the longest page (the 100,000-line evidence PDF, ~30 s).
timeout = _int("PORTAL_WEB_TIMEOUT", 120)
# On a restart or stop, requests in flight get this long to finish.
graceful_timeout = _int("PORTAL_WEB_GRACEFUL_TIMEOUT", 30)
# Behind a proxy that keeps connections open to us; above a load balancer's idle timeout is not needed here.
keepalive = 5
# A worker is replaced after this many requests (plus jitter, so they are not all replaced at once): whatever a
# library leaks cannot grow without bound.
max_requests = _int("PORTAL_WEB_MAX_REQUESTS", 2000)
max_requests_jitter = max_requests // 10

# forwarded_allow_ips: the addresses whose X-Forwarded-Proto (https) and X-Forwarded-For gunicorn believes.
# Only the proxy's: 127.0.0.1 when it runs on this machine, the load balancer's subnet otherwise (never "*"
# on a port anything else can reach). Django itself reads X-Forwarded-Proto for HTTPS (PORTAL_HTTPS) and as
# many X-Forwarded-For entries as PORTAL_TRUSTED_PROXIES says: the proxy must set both, replacing what the
# client sent.
forwarded_allow_ips = os.environ.get("PORTAL_FORWARDED_ALLOW_IPS", "127.0.0.1,::1")

# Logs to standard output and error, for systemd's journal or the container runtime to collect.
accesslog = "-"
errorlog = "-"
loglevel = os.environ.get("PORTAL_WEB_LOG_LEVEL", "info")

# One JSON object per request. The names are those of the atoms below; values are escaped by JsonAccessLogger.
access_log_format = json.dumps(
    {
        "time": "%(t)s",
        "remote": "%(h)s",
        "method": "%(m)s",
        "path": "%(U)s",
        "query": "%(q)s",
        "status": "%(s)s",
        "bytes": "%(B)s",
        "duration_ms": "%(M)s",
        "referer": "%(f)s",
        "user_agent": "%(a)s",
        "forwarded_for": "%({x-forwarded-for}i)s",
        "pid": "%(p)s",
    }
)


class JsonAccessLogger(Logger):
    """Gunicorn substitutes request values into the format as they are; a quote or backslash in a path or a
    user agent would break the JSON. Each value is escaped for a JSON string first; the time is ISO 8601 and
    the process id a plain number."""

    def atoms(self, resp, req, environ, request_time):
        atoms = super().atoms(resp, req, environ, request_time)
        atoms.update(t=datetime.now(UTC).isoformat(timespec="milliseconds"), p=os.getpid())
        return {name: json.dumps(str(value))[1:-1] if value is not None else "-" for name, value in atoms.items()}


logger_class = JsonAccessLogger
