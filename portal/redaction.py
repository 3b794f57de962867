"""Secrets stay out of logs and error reports.

Three layers, each catching what the one before cannot:
- `SecretsExceptionReporterFilter` (DEFAULT_EXCEPTION_REPORTER_FILTER) hides by name, as Django's
  own filter does for settings, and also in the request's META and POST and in the local variables
  of every traceback frame; it masks the password of any URL (a DATABASE_URL or REDIS_URL in the
  environment that a development server copies into META, a broker URL in the settings).
- `RedactingExceptionReporter` (the error emails) masks the known secret values wherever they still
  appear in the finished report, such as in an exception's message.
- `RedactSecrets` (a logging filter on every handler) does the same to each log line and its traceback.
"""

from __future__ import annotations

import logging
import os
import re
from urllib.parse import urlsplit

from django.conf import settings
from django.views.debug import ExceptionReporter, SafeExceptionReporterFilter

MASK = "********"
# Shorter values are not masked by value: masking "testing" or "postgres" everywhere would garble
# logs without protecting anything a real secret has (AWS secrets are 40 characters).
MIN_SECRET_LENGTH = 8
SECRET_ENVIRONMENT = (
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "PORTAL_SECRET_KEY",
    "PORTAL_METRICS_TOKEN",
    "SENTRY_DSN",
)
URL_ENVIRONMENT = ("DATABASE_URL", "REDIS_URL", "PORTAL_BROKER_URL", "PORTAL_CACHE_URL", "PORTAL_EMAIL_URL")
# scheme://user:password@host — the password part.
URL_PASSWORD = re.compile(r"(?P<head>\b[a-z][a-z0-9+.-]*://[^:/@\s]*:)(?P<password>[^@/\s]+)(?P<tail>@)", re.I)


def mask_url_passwords(text: str) -> str:
    return URL_PASSWORD.sub(lambda match: f"{match['head']}{MASK}{match['tail']}", text)


def _url_password(url: str | None) -> str | None:
    if not url or "://" not in url:
        return None
    try:
        return urlsplit(url).password
    except ValueError:
        return None


def known_secrets() -> list[str]:
    """The secret values of this installation, read now (settings and environment can change in tests)."""
    if not settings.configured:
        return []
    values = [settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", [])]
    values += [database.get("PASSWORD") for database in settings.DATABASES.values()]
    values += [getattr(settings, "EMAIL_HOST_PASSWORD", ""), getattr(settings, "METRICS_TOKEN", "")]
    values += [os.environ.get(name) for name in SECRET_ENVIRONMENT]
    values += [_url_password(os.environ.get(name)) for name in URL_ENVIRONMENT]
    values += [_url_password(getattr(settings, "CELERY_BROKER_URL", None))]
    unique = {value for value in values if isinstance(value, str) and len(value) >= MIN_SECRET_LENGTH}
    # Longest first, so a secret that contains another is masked whole.
    return sorted(unique, key=len, reverse=True)


def redact(text: str) -> str:
    for secret in known_secrets():
        text = text.replace(secret, MASK)
    return mask_url_passwords(text)


class SecretsExceptionReporterFilter(SafeExceptionReporterFilter):
    hidden_settings = re.compile(
        "API|AUTH|TOKEN|KEY|SECRET|PASS|SIGNATURE|HTTP_COOKIE|CREDENTIAL|PRIVATE|DSN", flags=re.IGNORECASE
    )

    def cleanse_setting(self, key, value):
        cleansed = super().cleanse_setting(key, value)
        return mask_url_passwords(cleansed) if isinstance(cleansed, str) else cleansed

    def get_post_parameters(self, request):
        """Besides the parameters a view marks sensitive, any whose name says it is a secret."""
        parameters = super().get_post_parameters(request)
        if not self.is_active(request) or not parameters:
            return parameters
        cleansed = parameters.copy()
        for name in cleansed:
            if self.hidden_settings.search(name):
                cleansed[name] = self.cleansed_substitute
        return cleansed

    def get_traceback_frame_variables(self, request, tb_frame):
        """Local variables named like secrets, or dictionaries holding them (boto3 credentials), hidden."""
        variables = super().get_traceback_frame_variables(request, tb_frame)
        if not self.is_active(request):
            return variables
        return [(name, self.cleanse_setting(name, value)) for name, value in variables]


class RedactingExceptionReporter(ExceptionReporter):
    """The error email's report, with known secret values masked wherever they still appear."""

    def get_traceback_text(self):
        return redact(super().get_traceback_text())

    def get_traceback_html(self):
        return redact(super().get_traceback_html())


class RedactSecrets(logging.Filter):
    """Masks secret values in a log record's message and traceback before any handler writes it."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg, record.args = redact(record.getMessage()), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True
