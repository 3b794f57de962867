"""`make run`: the whole portal on one machine, started together and stopped together.

Starts a moto server (simulated AWS), migrates and seeds the demo organisation, then runs
the web server and a Celery worker with beat. Ctrl-C (or SIGTERM) stops every process it
started. Settings come from the environment as usual; this only fills in what the
embedded set-up needs when nothing else is given.
"""

import contextlib
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
STOP_GRACE_SECONDS = 10
# A worker crashing more often than this in a minute has a real problem: stop rather than loop.
WORKER_RESTARTS = 5


def _wait_for_http(url: str, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return True
        except urllib.error.HTTPError:
            return True  # it answered
        except OSError:
            time.sleep(0.2)
    return False


class Processes:
    """Children each in their own session, so one signal to a group stops a child and its own children."""

    def __init__(self):
        self.children: list[tuple[str, subprocess.Popen]] = []

    def start(self, name: str, args: list[str], env: dict, log: Path | None = None) -> subprocess.Popen:
        output = open(log, "ab") if log else None  # noqa: SIM115 - kept open for the child's lifetime
        child = subprocess.Popen(args, cwd=ROOT, env=env, stdout=output, stderr=output, start_new_session=True)
        self.children.append((name, child))
        return child

    def stop_all(self) -> None:
        for _, child in self.children:
            if child.poll() is None:
                os.killpg(child.pid, signal.SIGTERM)
        deadline = time.monotonic() + STOP_GRACE_SECONDS
        for name, child in self.children:
            try:
                child.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                print(f"{name} did not stop in {STOP_GRACE_SECONDS}s; killing it.", flush=True)
            with contextlib.suppress(ProcessLookupError):
                os.killpg(child.pid, signal.SIGKILL)  # also any grandchildren left in its group
            child.wait()


def _supervise(processes: Processes, *, restart: dict[str, list[str]], env: dict) -> int:
    """Wait while everything runs. A worker that dies is started again (the work it held is re-queued:
    tasks are acknowledged late), up to WORKER_RESTARTS times a minute; anything else that stops ends
    the whole set-up, since the demo is no use without it."""
    restarts: list[float] = []
    while True:
        time.sleep(0.5)
        for name, child in list(processes.children):
            if child.poll() is None:
                continue
            now = time.monotonic()
            restarts = [at for at in restarts if now - at < 60]
            if name not in restart or len(restarts) >= WORKER_RESTARTS:
                print(f"{name} stopped unexpectedly (exit {child.returncode}); stopping the rest.", file=sys.stderr)
                return 1
            print(f"{name} stopped unexpectedly (exit {child.returncode}); starting it again.", file=sys.stderr)
            processes.children.remove((name, child))
            # Its own children (the worker's embedded beat) outlive it in its process group: end them too.
            with contextlib.suppress(ProcessLookupError):
                os.killpg(child.pid, signal.SIGKILL)
            restarts.append(now)
            processes.start(name, restart[name], env)


def _environment() -> dict:
    env = dict(os.environ)
    moto_port = env.setdefault("PORTAL_MOTO_PORT", "5055")
    env.setdefault("AWS_ENDPOINT_URL", f"http://127.0.0.1:{moto_port}")
    env.setdefault("AWS_ACCESS_KEY_ID", "testing")
    env.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
    env.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    env.setdefault("PORTAL_DEBUG", "true")
    env.setdefault("PORTAL_HTTPS", "false")
    env.setdefault("PORTAL_PORT", "8000")
    env.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    env["PYTHONUNBUFFERED"] = "1"
    return env


def main() -> int:
    env = _environment()
    port, moto_port = env["PORTAL_PORT"], env["PORTAL_MOTO_PORT"]
    logs = ROOT / "var" / "log"
    logs.mkdir(parents=True, exist_ok=True)
    processes = Processes()

    def stop(signum, frame):
        raise KeyboardInterrupt

    # Set both explicitly: a shell starting us in the background may have set SIGINT to "ignore".
    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    manage = [sys.executable, str(ROOT / "manage.py")]
    try:
        if env["AWS_ENDPOINT_URL"] == f"http://127.0.0.1:{moto_port}":
            processes.start(
                "moto", [str(BIN / "moto_server"), "-H", "127.0.0.1", "-p", moto_port], env, log=logs / "moto.log"
            )
            if not _wait_for_http(f"http://127.0.0.1:{moto_port}/moto-api/", 30):
                print(f"The simulated AWS did not start; see {logs / 'moto.log'}.", file=sys.stderr)
                return 1
        subprocess.run([*manage, "migrate", "--no-input", "-v", "0"], cwd=ROOT, env=env, check=True)
        subprocess.run([*manage, "seed_demo"], cwd=ROOT, env=env, check=True)
        worker_args = [
            str(BIN / "celery"),
            "-A",
            "portal",
            "worker",
            "--beat",
            "--pool=solo",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            "--loglevel=INFO",
            "--schedule",
            str(ROOT / "var" / "celerybeat-schedule"),
        ]
        processes.start("worker", worker_args, env)
        processes.start("web", [*manage, "runserver", f"127.0.0.1:{port}", "--noreload"], env)
        if not _wait_for_http(f"http://127.0.0.1:{port}/healthz", 30):
            print("The web server did not start.", file=sys.stderr)
            return 1
        print(
            f"\n  Access Portal is running at http://127.0.0.1:{port}/ (simulated AWS on port {moto_port})\n"
            "  Sign in as alice@example.com (employee), bob@example.com (her manager),\n"
            "  carol@example.com (entitlement owner), erin@example.com (governance admin)\n"
            "  or ivy@example.com (auditor); the password for all of them is demo-password-2026.\n"
            "  Press Ctrl-C to stop everything.\n",
            flush=True,
        )
        return _supervise(processes, restart={"worker": worker_args}, env=env)
    except KeyboardInterrupt:
        print("\nStopping…", flush=True)
        return 0
    except subprocess.CalledProcessError as exc:
        print(f"Start-up step failed: {' '.join(exc.cmd)}", file=sys.stderr)
        return 1
    finally:
        processes.stop_all()


if __name__ == "__main__":
    sys.exit(main())
