"""Settings for the test suite: the real settings, read from the same environment.

Only what tests cannot take from the environment is fixed here: a key, plain HTTP for
the test client and the live server, the in-memory mail outbox, fast password hashing.
DATABASE_URL and REDIS_URL are honoured as in production.
"""

import os

os.environ.setdefault("PORTAL_SECRET_KEY", "test-only-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz")
os.environ.setdefault("PORTAL_HTTPS", "false")

from portal.settings import *  # noqa: E402,F403

EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
STORAGES["staticfiles"]["BACKEND"] = "django.contrib.staticfiles.storage.StaticFilesStorage"  # noqa: F405
# Each test run gets its own queue so a `make run` worker on the same broker cannot steal its tasks.
CELERY_TASK_DEFAULT_QUEUE = f"portal-test-{os.getpid()}"
