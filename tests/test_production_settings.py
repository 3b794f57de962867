"""Production settings that are easy to get wrong: outgoing mail, who hears of server errors, Sentry.

Mail comes from one URL, PORTAL_EMAIL_URL, parsed by dj-email-url. Outside DEBUG, mail that would
only be printed (no URL, or a console backend nobody chose) is refused by a deployment check, and the
web server and workers refuse to start on it.
"""

import json
import secrets
import subprocess
import sys

import pytest
from django.core.exceptions import ImproperlyConfigured

from portal import env
from tests.test_settings import ROOT, manage

PRODUCTION = {
    "PORTAL_SECRET_KEY": secrets.token_urlsafe(64),
    "PORTAL_ALLOWED_HOSTS": "portal.example.com",
    "PORTAL_DEBUG": "false",
    "DATABASE_URL": "postgresql://portal@db.example.com:5432/portal",
    "REDIS_URL": "redis://cache.example.com:6379/0",
    "PORTAL_ADMINS": "Operations <ops@example.com>",
}
MAIL_PASSWORD = "mail-Password-of-the-portal-2026"


def settings_of(tmp_path, *names: str, **variables: str) -> dict:
    """The named settings as a fresh process reads them from these variables."""
    script = (
        "import json, django; from django.conf import settings; django.setup(); "
        f"print(json.dumps({{name: getattr(settings, name, None) for name in {list(names)!r}}}, default=str))"
    )
    result = manage("shell", "-c", script, PORTAL_VAR_DIR=str(tmp_path), **variables)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (
            f"smtp+tls://portal%40example.com:{MAIL_PASSWORD}@smtp.example.com:587",
            {
                "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
                "EMAIL_HOST": "smtp.example.com",
                "EMAIL_PORT": 587,
                "EMAIL_HOST_USER": "portal@example.com",
                "EMAIL_HOST_PASSWORD": MAIL_PASSWORD,
                "EMAIL_USE_TLS": True,
                "EMAIL_USE_SSL": False,
            },
        ),
        (
            "smtp+ssl://portal:pw@email-smtp.eu-west-1.amazonaws.com",
            {"EMAIL_PORT": 465, "EMAIL_USE_SSL": True, "EMAIL_USE_TLS": False},
        ),
        ("smtp://relay.internal?timeout=5", {"EMAIL_PORT": 25, "EMAIL_USE_TLS": False, "EMAIL_TIMEOUT": 5}),
        ("console://", {"EMAIL_BACKEND": "django.core.mail.backends.console.EmailBackend"}),
        (
            "file:///var/lib/portal/mail",
            {
                "EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
                "EMAIL_FILE_PATH": "/var/lib/portal/mail",
            },
        ),
    ],
)
def test_one_url_sets_the_mail_settings(monkeypatch, url, expected):
    monkeypatch.setenv("PORTAL_EMAIL_URL", url)

    config = env.env_email("PORTAL_EMAIL_URL")

    assert {name: config[name] for name in expected} == expected


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("smpt://mail.example.com", "PORTAL_EMAIL_URL must start with one of smtp://"),
        ("mail.example.com:587", "PORTAL_EMAIL_URL must start with one of smtp://"),
        ("smtp+tls://user:pw@:587", "PORTAL_EMAIL_URL must name the mail server"),
        ("smtp://mail.example.com:port", "PORTAL_EMAIL_URL is not a valid email URL"),
        ("file://", "PORTAL_EMAIL_URL must name a folder"),
        ("ses://key:secret@eu-west-1", "PORTAL_EMAIL_URL for SES is ses:// or ses://<region>"),
    ],
)
def test_a_malformed_mail_url_names_the_variable(monkeypatch, url, message):
    monkeypatch.setenv("PORTAL_EMAIL_URL", url)

    with pytest.raises(ImproperlyConfigured) as refused:
        env.env_email("PORTAL_EMAIL_URL")

    assert str(refused.value).startswith(message)


def test_ses_through_its_api_in_the_region_named_or_the_portals(tmp_path):
    in_ireland = settings_of(
        tmp_path, "EMAIL_BACKEND", "AWS_SES_REGION_NAME", PORTAL_EMAIL_URL="ses://eu-west-1", **PRODUCTION
    )
    in_the_portals = settings_of(tmp_path, "AWS_SES_REGION_NAME", PORTAL_EMAIL_URL="ses://", AWS_REGION="us-west-2")

    assert in_ireland == {"EMAIL_BACKEND": "django_ses.SESBackend", "AWS_SES_REGION_NAME": "eu-west-1"}
    assert in_the_portals == {"AWS_SES_REGION_NAME": "us-west-2"}


def test_mail_sent_through_ses_reaches_it(settings, moto_server):
    import boto3
    from django.core.mail import send_mail

    settings.EMAIL_BACKEND = "django_ses.SESBackend"
    settings.AWS_SES_REGION_NAME = "us-east-1"
    settings.AWS_SES_REGION_ENDPOINT = "email.us-east-1.amazonaws.com"
    settings.AWS_SES_REGION_ENDPOINT_URL = moto_server
    ses = boto3.client("ses", endpoint_url=moto_server, region_name="us-east-1")
    ses.verify_email_identity(EmailAddress="access-portal@example.com")
    before = ses.get_send_quota()["SentLast24Hours"]

    sent = send_mail("Your access is live", "Developers is live.", "access-portal@example.com", ["alice@example.com"])

    assert sent == 1
    assert ses.get_send_quota()["SentLast24Hours"] > before, "SES took the message"


def test_admins_come_from_one_variable(monkeypatch):
    monkeypatch.setenv("PORTAL_ADMINS", "Operations <ops@example.com>, security@example.com")

    assert env.env_addresses("PORTAL_ADMINS") == [
        ("Operations", "ops@example.com"),
        ("security@example.com", "security@example.com"),
    ]
    monkeypatch.setenv("PORTAL_ADMINS", "ops at example.com")
    with pytest.raises(ImproperlyConfigured, match="PORTAL_ADMINS must be comma-separated email addresses"):
        env.env_addresses("PORTAL_ADMINS")


def test_the_mail_url_reaches_django_and_the_older_variables_still_work(tmp_path):
    names = ("EMAIL_BACKEND", "EMAIL_HOST", "EMAIL_PORT", "EMAIL_HOST_PASSWORD", "EMAIL_USE_TLS", "ADMINS")

    from_url = settings_of(
        tmp_path, *names, PORTAL_EMAIL_URL=f"smtp+tls://portal:{MAIL_PASSWORD}@smtp.example.com:587", **PRODUCTION
    )
    older = settings_of(
        tmp_path,
        *names,
        PORTAL_EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend",
        PORTAL_EMAIL_HOST="relay.internal",
        PORTAL_EMAIL_PORT="2525",
    )

    assert from_url == {
        "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "EMAIL_HOST": "smtp.example.com",
        "EMAIL_PORT": 587,
        "EMAIL_HOST_PASSWORD": MAIL_PASSWORD,
        "EMAIL_USE_TLS": True,
        "ADMINS": [["Operations", "ops@example.com"]],
    }
    assert (older["EMAIL_HOST"], older["EMAIL_PORT"]) == ("relay.internal", 2525)


def test_the_url_and_the_older_variables_together_are_refused(tmp_path):
    result = manage(
        "check", PORTAL_VAR_DIR=str(tmp_path), PORTAL_EMAIL_URL="console://", PORTAL_EMAIL_HOST="relay.internal"
    )

    assert result.returncode != 0
    assert "Set PORTAL_EMAIL_URL or PORTAL_EMAIL_HOST, not both." in result.stderr


def test_production_without_a_mail_server_is_refused_in_words(tmp_path):
    result = manage("check", "--deploy", PORTAL_VAR_DIR=str(tmp_path), **PRODUCTION)

    assert result.returncode != 0
    assert "(portal.E001) Outgoing mail goes to the console backend" in result.stderr
    assert "Set PORTAL_EMAIL_URL to your mail server, e.g. smtp+tls://" in result.stderr


def test_the_web_server_refuses_to_start_without_a_mail_server(tmp_path):
    """gunicorn runs no system checks: loading the WSGI application does."""
    result = manage("shell", "-c", "import portal.wsgi", PORTAL_VAR_DIR=str(tmp_path), **PRODUCTION)

    assert result.returncode != 0
    assert "Outgoing mail goes to the console backend" in result.stderr


def test_printing_mail_in_production_is_allowed_when_chosen_on_purpose(tmp_path):
    result = manage("check", "--deploy", PORTAL_VAR_DIR=str(tmp_path), PORTAL_EMAIL_URL="console://", **PRODUCTION)

    assert "portal.E001" not in result.stderr + result.stdout


def test_development_prints_mail_without_being_asked(tmp_path):
    result = manage("check", "--deploy", PORTAL_VAR_DIR=str(tmp_path), PORTAL_DEBUG="true")

    assert "portal.E001" not in result.stderr + result.stdout


def test_the_mail_password_never_reaches_a_log_line(tmp_path):
    script = (
        "import logging, django; django.setup(); "
        "logging.getLogger('portal.probe').warning('could not send: %s', __import__('os').environ['PORTAL_EMAIL_URL'])"
    )
    result = manage(
        "shell",
        "-c",
        script,
        PORTAL_VAR_DIR=str(tmp_path),
        PORTAL_EMAIL_URL=f"smtp+tls://portal:{MAIL_PASSWORD}@smtp.example.com:587",
        **PRODUCTION,
    )

    assert result.returncode == 0, result.stderr
    line = json.loads(next(line for line in result.stderr.splitlines() if "could not send" in line))
    assert line["message"] == "could not send: smtp+tls://portal:********@smtp.example.com:587"
    assert MAIL_PASSWORD not in result.stderr


def test_without_a_sentry_dsn_nothing_of_sentry_is_loaded(tmp_path):
    script = "import sys, django; django.setup(); print('sentry_sdk' in sys.modules)"
    environment = {"DJANGO_SETTINGS_MODULE": "portal.settings", "PATH": "/usr/bin", "PORTAL_VAR_DIR": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=environment, capture_output=True, text=True, timeout=120
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"


def test_with_a_sentry_dsn_reports_start(tmp_path):
    script = (
        "import django, sentry_sdk; django.setup(); "
        "client = sentry_sdk.get_client(); print(client.is_active(), client.options['send_default_pii'])"
    )
    result = manage(
        "shell", "-c", script, PORTAL_VAR_DIR=str(tmp_path), SENTRY_DSN="http://public@127.0.0.1:9/1", **PRODUCTION
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "True False"
