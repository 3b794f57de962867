"""`manage.py health live|ready`: a probe for a container, exit code 0 when it passes, 1 when not.

By default the checks run in this process, with the same settings as the service (a worker's or beat's
container, or a web container before its server is up). With --url the running web server is asked
instead (`--url http://127.0.0.1:8000`), which also proves it answers.
"""

import json
import sys
import urllib.error
import urllib.request

from django.core.management.base import BaseCommand, CommandError

from portal.health import probes
from portal.health.middleware import PROBE_PATHS


class Command(BaseCommand):
    help = "Run the live or ready probe; print its checks as JSON; exit 0 when it passes, 1 when it does not."

    def add_arguments(self, parser):
        parser.add_argument("probe", choices=sorted(probes.PROBES))
        parser.add_argument("--url", help="ask the web server at this base URL (http://127.0.0.1:8000) instead")
        parser.add_argument("--timeout", type=float, default=10.0, help="seconds to wait for the web server")

    def handle(self, *args, probe, url=None, timeout=10.0, **options):
        if url:
            passed, body = self._ask(url, probe, timeout)
        else:
            report = probes.run(probe)
            passed, body = report.passed, report.as_json()
        self.stdout.write(json.dumps(body, indent=2))
        if not passed:
            sys.exit(1)

    def _ask(self, url: str, probe: str, timeout: float) -> tuple[bool, dict]:
        if not url.startswith(("http://", "https://")):
            raise CommandError(f"--url must start with http:// or https://, not {url!r}.")
        path = next(path for path, name in PROBE_PATHS.items() if name == probe and path.startswith("/health/"))
        try:
            with urllib.request.urlopen(url.rstrip("/") + path, timeout=timeout) as answer:  # noqa: S310 (http(s) only)
                return True, json.load(answer)
        except urllib.error.HTTPError as refused:
            try:
                return False, json.load(refused)
            except ValueError:
                return False, {"probe": probe, "status": "failing", "reason": f"HTTP {refused.code}"}
        except (OSError, ValueError) as exc:
            return False, {"probe": probe, "status": "failing", "reason": f"no answer from {url}: {exc}"}
