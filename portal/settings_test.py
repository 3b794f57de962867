"""Settings for the test suite: the real settings, read from the same environment.

Only what tests cannot take from the environment is fixed here: a key, plain HTTP for
the test client and the live server, the in-memory mail outbox, fast password hashing.
DATABASE_URL and REDIS_URL are honoured as in production.
"""

import os
import tempfile

os.environ.setdefault("PORTAL_SECRET_KEY", "test-only-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz")
os.environ.setdefault("PORTAL_HTTPS", "false")
# Log lines people read in a failing test's output (tests/test_observability.py checks the JSON ones).
os.environ.setdefault("PORTAL_LOG_FORMAT", "text")
# A fixed anchor signing key (32 bytes, base64), so tests never generate one into var/.
os.environ.setdefault("PORTAL_AUDIT_ANCHOR_KEY", "dGVzdC1vbmx5LWF1ZGl0LWFuY2hvci1rZXktMzJieXQ=")

from portal.settings import *  # noqa: F403

EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
STORAGES["staticfiles"]["BACKEND"] = "django.contrib.staticfiles.storage.StaticFilesStorage"  # noqa: F405
# Each test run gets its own queue so a `make run` worker on the same broker cannot steal its tasks.
CELERY_TASK_DEFAULT_QUEUE = os.environ.get("PORTAL_CELERY_QUEUE") or f"portal-test-{os.getpid()}"
CELERY_TASK_QUEUES, CELERY_TASK_ROUTES = celery_queues(CELERY_TASK_DEFAULT_QUEUE)  # noqa: F405
if REDIS_URL:  # noqa: F405
    CELERY_REDBEAT_KEY_PREFIX = f"{CELERY_TASK_DEFAULT_QUEUE}:beat:"  # this run's own schedule and beat lock
# A broker folder of its own when on the filesystem transport, away from `make run`'s worker.
if CELERY_BROKER_URL == "filesystem://":  # noqa: F405
    _broker_dir = tempfile.mkdtemp(prefix="portal-test-broker-")
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": _broker_dir,
        "data_folder_out": _broker_dir,
        "store_processed": False,
        "control_folder": _broker_dir,
    }
# Threads (live server, Celery worker) each open their own connection: close them after each
# request or task so the test database can be dropped at the end. SQLite tests use a file
# database, since an in-memory one cannot be shared safely between those threads.
DATABASES["default"]["CONN_MAX_AGE"] = 0  # noqa: F405
# A test database per run, so two runs on one machine (or one server) never collide. A worker
# process started by a test reads the name the test gives it (PORTAL_TEST_DATABASE_NAME).
_test_name = os.environ.get("PORTAL_TEST_DATABASE_NAME") or f"test_portal_{os.getpid()}"
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):  # noqa: F405
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / f"{_test_name}.sqlite3")}  # noqa: F405
else:
    DATABASES["default"]["TEST"] = {"NAME": _test_name}  # noqa: F405
# Evidence packs built during the tests go to a folder of this run's own, never into var/ (a worker process
# started by a test is given the test's folder in PORTAL_EVIDENCE_DIR).
if not EVIDENCE_BUCKET and not os.environ.get("PORTAL_EVIDENCE_DIR"):  # noqa: F405
    STORAGES["evidence"]["OPTIONS"]["location"] = tempfile.mkdtemp(prefix="portal-test-evidence-")  # noqa: F405
