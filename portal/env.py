"""Strict readers for settings that come from the environment.

Each reader either returns a well-formed value or raises ImproperlyConfigured naming the
variable and what was wrong with it, so a malformed value stops start-up instead of
quietly becoming a default.
"""

import base64
import ipaddress
import os
import secrets
from email.utils import getaddresses
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit, urlunsplit

import dj_database_url
import dj_email_url  # type: ignore[import-untyped]  # it ships no types; no stubs are pinned
from django.core.exceptions import ImproperlyConfigured

if TYPE_CHECKING:
    from celery.schedules import crontab

_TRUE = {"true", "1", "yes", "on"}
_FALSE = {"false", "0", "no", "off"}


def _raw(name: str) -> str | None:
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return None
    return value.strip()


def env_str(name: str, default: str) -> str:
    value = _raw(name)
    return default if value is None else value


def env_bool(name: str, default: bool) -> bool:
    value = _raw(name)
    if value is None:
        return default
    if value.lower() in _TRUE:
        return True
    if value.lower() in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name} must be true or false, not {value!r}.")


def env_int(name: str, default: int, minimum: int = 0) -> int:
    value = _raw(name)
    if value is None:
        return default
    try:
        number = int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number, not {value!r}.") from None
    if number < minimum:
        raise ImproperlyConfigured(f"{name} must be at least {minimum}, not {number}.")
    return number


def env_list(name: str, default: list[str]) -> list[str]:
    value = _raw(name)
    if value is None:
        return list(default)
    return [item.strip() for item in value.split(",") if item.strip()]


def env_database(name: str, default: str) -> dj_database_url.DBConfig:
    value = _raw(name) or default
    if not value.startswith(("postgres://", "postgresql://", "sqlite:")):
        raise ImproperlyConfigured(
            f"{name} must be a postgresql:// or sqlite:// URL, not one starting {value.split(':')[0]!r}."
        )
    try:
        config = dj_database_url.parse(value, conn_max_age=60, conn_health_checks=True)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} is not a valid database URL: {exc}") from None
    if config["ENGINE"] == "django.db.backends.sqlite3":
        # IMMEDIATE: a writing transaction takes the lock when it starts, so the web server and the
        # worker wait for each other (up to the timeout) instead of failing with "database is locked".
        # WAL: readers never block the writer; synchronous=NORMAL is safe in WAL mode against a crash of
        # the application (only a power cut can lose the last commits), and saves an fsync per commit.
        config["OPTIONS"] = {
            "timeout": 20,
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
        config["CONN_MAX_AGE"] = 0
    return config


# PORTAL_EMAIL_URL's schemes. dj-email-url reads `submission` as SMTP with STARTTLS (port 587 unless given)
# and `?ssl=true` as SMTP over TLS; `smtp+tls` and `smtp+ssl` are the names people tend to write.
EMAIL_SCHEMES = {
    "smtp": "smtp",
    "smtp+tls": "submission",
    "submission": "submission",
    "smtp+ssl": "smtp",
    "console": "console",
    "file": "file",
    "memory": "memory",
    "dummy": "dummy",
    "ses": "ses",
}


def env_email(name: str) -> dict | None:
    """Django's EMAIL_* settings from one URL, parsed by dj-email-url; None when the variable is unset.

    `smtp+tls://user:password@host:587` (STARTTLS), `smtp+ssl://user:password@host:465` (TLS from the
    start), `smtp://host:25` (plain), `console://`, `file:///path/to/folder`. Characters such as `@` or
    `/` in the user or password are percent-encoded (`%40`, `%2F`). `?timeout=10` sets a timeout in seconds.
    `ses://` or `ses://eu-west-1`: Amazon SES through its API (django-ses), with boto3's usual credentials
    (the instance's role); the region defaults to AWS_REGION.
    """
    value = _raw(name)
    if value is None:
        return None
    scheme = value.split("://", 1)[0].lower() if "://" in value else ""
    if scheme not in EMAIL_SCHEMES:
        known = ", ".join(f"{known}://" for known in EMAIL_SCHEMES)
        raise ImproperlyConfigured(f"{name} must start with one of {known}, not {scheme or value[:12]!r}.")
    parts = urlsplit(value)
    if scheme == "ses":
        return _ses_email(name, parts)
    query = parts.query
    if scheme == "smtp+ssl":
        query = "&".join(part for part in (query, "ssl=true") if part)
    try:
        config = dj_email_url.parse(urlunsplit(parts._replace(scheme=EMAIL_SCHEMES[scheme], query=query)))
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} is not a valid email URL: {exc}") from None
    if scheme in ("smtp", "smtp+tls", "submission", "smtp+ssl") and not parts.hostname:
        raise ImproperlyConfigured(f"{name} must name the mail server, as in smtp+tls://user:password@host:587.")
    if scheme == "smtp+ssl" and not parts.port:
        config["EMAIL_PORT"] = 465
    if scheme == "file":
        # dj-email-url drops the path's leading slash (file:///var/mail -> var/mail): keep it absolute.
        if not parts.path.startswith("/") or parts.path == "/":
            raise ImproperlyConfigured(f"{name} must name a folder, as in file:///var/lib/portal/mail.")
        config["EMAIL_FILE_PATH"] = parts.path
    config["EMAIL_HOST_USER"] = config["EMAIL_HOST_USER"] or ""
    config["EMAIL_HOST_PASSWORD"] = config["EMAIL_HOST_PASSWORD"] or ""
    config["EMAIL_URL_SCHEME"] = scheme
    return config


def _ses_email(name: str, parts) -> dict:
    if parts.path not in ("", "/") or parts.query or parts.username:
        raise ImproperlyConfigured(f"{name} for SES is ses:// or ses://<region>, as in ses://eu-west-1.")
    return {
        "EMAIL_BACKEND": "django_ses.SESBackend",
        "EMAIL_HOST": "",
        "EMAIL_PORT": None,
        "EMAIL_HOST_USER": "",
        "EMAIL_HOST_PASSWORD": "",
        "EMAIL_USE_TLS": False,
        "EMAIL_USE_SSL": False,
        "EMAIL_TIMEOUT": None,
        "EMAIL_FILE_PATH": None,
        "EMAIL_URL_SCHEME": "ses",
        "SES_REGION": parts.hostname or "",
    }


def env_addresses(name: str) -> list[tuple[str, str]]:
    """`Name <email>, other@example.com` as Django's ADMINS: (name, email) pairs."""
    value = _raw(name)
    if value is None:
        return []
    pairs = getaddresses([value])
    bad = [address for _, address in pairs if "@" not in address or " " in address]
    if bad or not pairs:
        raise ImproperlyConfigured(
            f"{name} must be comma-separated email addresses (`Name <email>` or `email`), not {value!r}."
        )
    return [(label or address, address) for label, address in pairs]


def env_networks(name: str) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    """Comma-separated addresses or networks (`10.0.0.0/8, 127.0.0.1`)."""
    networks = []
    for item in env_list(name, []):
        try:
            networks.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            raise ImproperlyConfigured(f"{name} must list IP addresses or networks, not {item!r}.") from None
    return networks


def env_choice(name: str, default: str, choices: tuple[str, ...]) -> str:
    value = env_str(name, default).lower()
    if value not in choices:
        raise ImproperlyConfigured(f"{name} must be one of {', '.join(choices)}, not {value!r}.")
    return value


def env_secret_key(name: str, key_file: Path) -> str:
    """The key from the environment; else one generated once for this installation.

    The generated key is kept in `key_file` (mode 0600) so sessions survive restarts of the
    embedded set-up. Several web servers sharing a database must set the variable instead.
    """
    value = _raw(name)
    if value is not None:
        if len(value) < 50:
            raise ImproperlyConfigured(f"{name} must be at least 50 characters long.")
        return value
    return _generated_once(key_file, lambda: secrets.token_urlsafe(64))


def env_signing_key(name: str, key_file: Path) -> str:
    """An Ed25519 private key (its 32 bytes, base64) from the environment; else one generated once.

    Generated like `env_secret_key`: kept in `key_file` (mode 0600) for this installation. Several
    servers, or a worker on another machine, must share it: set the variable instead.
    """
    value = _raw(name)
    if value is not None:
        try:
            raw = base64.b64decode(value, validate=True)
        except ValueError:
            raw = b""
        if len(raw) != 32:
            raise ImproperlyConfigured(f"{name} must be 32 bytes in base64 (an Ed25519 private key).")
        return value
    return _generated_once(key_file, lambda: base64.b64encode(secrets.token_bytes(32)).decode())


def _generated_once(key_file: Path, make) -> str:
    """The key kept in `key_file` (mode 0600), made by `make` the first time; if two processes of the
    same installation race to make it, the first one's stands."""
    if key_file.exists():
        return key_file.read_text().strip()
    key_file.parent.mkdir(parents=True, exist_ok=True)
    key = make()
    try:
        descriptor = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process of the same installation made it first
        return key_file.read_text().strip()
    with os.fdopen(descriptor, "w") as handle:
        handle.write(key)
    return key


def env_url(name: str, default: str, schemes: tuple[str, ...]) -> str:
    """A URL whose scheme is one of `schemes` (a broker's or a cache's), else the default."""
    value = _raw(name)
    if value is None:
        return default
    scheme = value.split("://", 1)[0].lower() if "://" in value else ""
    if scheme not in schemes:
        allowed = ", ".join(f"{each}://" for each in schemes)
        raise ImproperlyConfigured(f"{name} must be a URL starting with one of {allowed}, not {scheme or value!r}.")
    return value


def env_crontab(name: str, default: str) -> "crontab":
    """A crontab line of five fields (minute hour day-of-month month day-of-week), as celery beat runs it."""
    from celery.schedules import crontab

    value = _raw(name) or default
    fields = value.split()
    if len(fields) != 5:
        raise ImproperlyConfigured(f"{name} must be five crontab fields like '30 2 * * *', not {value!r}.")
    minute, hour, day_of_month, month_of_year, day_of_week = fields
    try:
        schedule = crontab(minute, hour, day_of_week, day_of_month, month_of_year)
    except (ValueError, IndexError) as exc:
        raise ImproperlyConfigured(f"{name} is not a valid crontab line ({value!r}): {exc}") from None
    return schedule


def redis_url_with_next_database(url: str, name: str) -> str:
    """The same Redis server, the database after the one `url` names (/0 -> /1): the cache's own, so
    clearing it (tests do) or evicting from it never touches the queued tasks."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    number = parts.path.strip("/") or "0"
    if not number.isdigit():
        raise ImproperlyConfigured(f"{name} must name its Redis database as a number (/0), not {parts.path!r}.")
    return urlunsplit(parts._replace(path=f"/{int(number) + 1}"))
