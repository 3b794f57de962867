"""Secrets only from the environment, and never in logs: a failing request's log lines and the
error email sent to the admins show none of the secret key, the AWS secret, the database or broker
password, even when the code that failed held them in variables or put them in its error message."""

import io
import logging
import sys

import pytest
from django.conf import settings
from django.core import mail
from django.test import Client

from portal.redaction import RedactingExceptionReporter
from tests.security.failing_urls import fail_while_holding_secrets

AWS_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY"
AWS_SESSION = "FwoGZXIvYXdzEXAMPLESESSIONTOKEN0123456789abcdef"
DATABASE_PASSWORD = "db-Password-of-the-portal-2026"
BROKER_PASSWORD = "broker-Password-2026-xyz"
FORM_PASSWORD = "typed-Password-in-a-form-2026"


@pytest.fixture
def secrets_in_play(settings, monkeypatch):
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", AWS_SECRET)
    monkeypatch.setenv("AWS_SESSION_TOKEN", AWS_SESSION)
    monkeypatch.setitem(settings.DATABASES["default"], "PASSWORD", DATABASE_PASSWORD)
    settings.CELERY_BROKER_URL = f"redis://:{BROKER_PASSWORD}@cache.internal:6379/0"
    settings.ADMINS = [("Operations", "ops@example.com")]
    settings.ROOT_URLCONF = "tests.security.failing_urls"
    return [settings.SECRET_KEY, AWS_SECRET, AWS_SESSION, DATABASE_PASSWORD, BROKER_PASSWORD, FORM_PASSWORD]


@pytest.fixture
def console():
    """What the portal's console handler writes (the real handler, filters and format)."""
    handler = next(handler for handler in logging.getLogger().handlers if handler.name == "console")
    written = io.StringIO()
    original = handler.setStream(written)
    yield written
    handler.setStream(original)


def fail(cast, method="get"):
    client = Client(raise_request_exception=False)
    client.force_login(cast.alice)
    # A development server copies its environment into every request's META, as here.
    environment = {
        "DATABASE_URL": f"postgresql://portal:{DATABASE_PASSWORD}@db.internal:5432/portal",
        "REDIS_URL": f"redis://:{BROKER_PASSWORD}@cache.internal:6379/0",
        "AWS_SECRET_ACCESS_KEY": AWS_SECRET,
    }
    send = client.post if method == "post" else client.get
    data = {"password": FORM_PASSWORD, "note": "hello"} if method == "post" else None
    return send("/__probe__/fail/", data, **environment)


@pytest.mark.parametrize("method", ["get", "post"])
def test_a_failing_request_logs_no_secret(cast, secrets_in_play, console, method):
    response = fail(cast, method)

    logged = console.getvalue()
    assert response.status_code == 500
    assert "ERROR django.request Internal Server Error: /__probe__/fail/" in logged
    assert "ConnectionError: could not connect to postgresql://portal:********@db.internal" in logged
    assert [secret for secret in secrets_in_play if secret in logged] == []


@pytest.mark.parametrize("method", ["get", "post"])
def test_the_error_email_shows_no_secret(cast, secrets_in_play, method):
    fail(cast, method)

    assert len(mail.outbox) == 1, "one email, from the portal's own handler"
    email = mail.outbox[0]
    report = email.subject + email.body + "".join(str(part[0]) for part in email.alternatives)
    assert email.to == ["ops@example.com"]
    assert "Exception Value: could not connect to postgresql://portal:********@db.internal" in report
    assert "DATABASE_URL = 'postgresql://portal:********@db.internal:5432/portal'" in report
    assert [secret for secret in secrets_in_play if secret in report] == []


def test_the_full_report_hides_secrets_held_in_local_variables(cast, secrets_in_play, rf):
    """The HTML report (error emails with include_html, the debug page) lists every frame's variables."""
    request = rf.post("/__probe__/fail/", {"password": FORM_PASSWORD})
    request.user = cast.alice
    try:
        fail_while_holding_secrets(request)
    except ConnectionError:
        exc_type, exc_value, traceback = sys.exc_info()

    html = RedactingExceptionReporter(request, exc_type, exc_value, traceback).get_traceback_html()

    assert "connection_url" in html and "database_password" in html, "the variables are listed"
    assert "postgresql://portal:********@db.internal" in html
    assert [secret for secret in secrets_in_play if secret in html] == []


def test_settings_hold_no_secret_literal():
    """The secret key comes from the environment (or the installation's own key file), never the code."""
    from pathlib import Path

    source = (Path(settings.BASE_DIR) / "portal" / "settings.py").read_text()
    assert settings.SECRET_KEY not in source
    assert 'SECRET_KEY = env_secret_key("PORTAL_SECRET_KEY"' in source
