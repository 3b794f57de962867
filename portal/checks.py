"""System checks for settings that are well-formed yet wrong for production.

They are deployment checks (`manage.py check --deploy`), so `makemigrations` and the like still run on
a developer's machine; the web server (portal/wsgi.py) and Celery workers (portal/celery.py) refuse to
start on their errors, since gunicorn and celery run no system checks themselves.
"""

from collections.abc import Sequence
from typing import Any

from django.apps import AppConfig
from django.conf import settings
from django.core import checks
from django.core.exceptions import ImproperlyConfigured

TAG = "portal"
# Backends that deliver nothing: fine in development, silent loss of every notification in production.
UNDELIVERED = {
    "django.core.mail.backends.console.EmailBackend": "console",
    "django.core.mail.backends.dummy.EmailBackend": "dummy",
}


@checks.register(TAG, deploy=True)
def mail_is_delivered(app_configs: Sequence[AppConfig] | None = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """Outside DEBUG, approvers' and reviewers' emails must leave the machine, unless someone said
    otherwise on purpose (PORTAL_EMAIL_URL=console://)."""
    backend = UNDELIVERED.get(settings.EMAIL_BACKEND)
    if settings.DEBUG or backend is None or backend == settings.EMAIL_CHOSEN:
        return []
    return [
        checks.Error(
            f"Outgoing mail goes to the {backend} backend, so approvers and reviewers would never get it.",
            hint="Set PORTAL_EMAIL_URL to your mail server, e.g. smtp+tls://user:password@smtp.example.com:587 "
            "(for Amazon SES, its SMTP credentials and endpoint), or PORTAL_EMAIL_URL=console:// to print mail "
            "on purpose.",
            id="portal.E001",
        )
    ]


@checks.register(TAG, deploy=True)
def errors_are_reported(app_configs: Sequence[AppConfig] | None = None, **kwargs: Any) -> list[checks.CheckMessage]:
    if settings.ADMINS or settings.SENTRY_DSN:
        return []
    return [
        checks.Warning(
            "Server errors are reported to nobody.",
            hint="Set PORTAL_ADMINS (comma-separated `Name <email>`) for error emails, or SENTRY_DSN.",
            id="portal.W001",
        )
    ]


def refuse_to_start_misconfigured() -> None:
    """Raise the portal's check errors (not silenced ones) as ImproperlyConfigured, for servers that run no checks."""
    errors = [
        message
        for message in checks.run_checks(tags=[TAG], include_deployment_checks=True)
        if message.is_serious() and message.id not in settings.SILENCED_SYSTEM_CHECKS
    ]
    if errors:
        raise ImproperlyConfigured(" ".join(f"{error.msg} {error.hint}" for error in errors))
