"""Settings come from the environment, strictly: a malformed value stops start-up and names itself."""

import ast
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from portal import env

ROOT = Path(__file__).resolve().parent.parent


def manage(*args: str, **variables: str) -> subprocess.CompletedProcess:
    environment = {key: value for key, value in os.environ.items() if not key.startswith(("PORTAL_", "DJANGO_"))}
    environment.update(DJANGO_SETTINGS_MODULE="portal.settings", **variables)
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=environment, capture_output=True, text=True, timeout=120
    )


@pytest.mark.parametrize(
    ("reader", "value", "message"),
    [
        (lambda: env.env_bool("PORTAL_X", False), "maybe", "PORTAL_X must be true or false, not 'maybe'."),
        (lambda: env.env_int("PORTAL_X", 1), "ten", "PORTAL_X must be a whole number, not 'ten'."),
        (lambda: env.env_int("PORTAL_X", 1, minimum=5), "2", "PORTAL_X must be at least 5, not 2."),
        (lambda: env.env_database("PORTAL_X", "sqlite://"), "mysql://db/x", "PORTAL_X must be a postgresql://"),
        (lambda: env.env_secret_key("PORTAL_X", Path("/nonexistent")), "short", "PORTAL_X must be at least 50"),
    ],
)
def test_malformed_values_name_the_variable(monkeypatch, reader, value, message):
    monkeypatch.setenv("PORTAL_X", value)

    with pytest.raises(ImproperlyConfigured) as refused:
        reader()

    assert str(refused.value).startswith(message)


def test_well_formed_values_are_read(monkeypatch):
    monkeypatch.setenv("PORTAL_X", "Yes")
    assert env.env_bool("PORTAL_X", False) is True
    monkeypatch.setenv("PORTAL_X", "a.example.com, b.example.com")
    assert env.env_list("PORTAL_X", []) == ["a.example.com", "b.example.com"]
    monkeypatch.setenv("PORTAL_X", "postgresql://portal:pw@db.internal:5432/portal")
    assert env.env_database("PORTAL_X", "sqlite://")["HOST"] == "db.internal"


def test_generated_secret_key_is_kept_private_and_stable(tmp_path, monkeypatch):
    monkeypatch.delenv("PORTAL_X", raising=False)
    key_file = tmp_path / "secret_key"

    first = env.env_secret_key("PORTAL_X", key_file)

    assert len(first) >= 50
    assert env.env_secret_key("PORTAL_X", key_file) == first
    assert key_file.stat().st_mode & 0o777 == 0o600


def test_malformed_value_stops_start_up():
    result = manage("check", PORTAL_DEBUG="sometimes")

    assert result.returncode != 0
    assert "PORTAL_DEBUG must be true or false, not 'sometimes'." in result.stderr


def test_deploy_check_is_clean_with_production_settings(tmp_path):
    result = manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        PORTAL_SECRET_KEY=secrets.token_urlsafe(64),
        PORTAL_ALLOWED_HOSTS="portal.example.com",
        PORTAL_DEBUG="false",
        PORTAL_VAR_DIR=str(tmp_path),
        DATABASE_URL="postgresql://portal@db.example.com:5432/portal",
        REDIS_URL="redis://cache.example.com:6379/0",
        PORTAL_EMAIL_URL="smtp+tls://portal:mail-password@smtp.example.com:587",
        PORTAL_ADMINS="Operations <ops@example.com>",
    )

    assert result.returncode == 0, result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout


def test_dependencies_point_one_way():
    """The layers in docs/architecture.md, checked by import-linter, between apps and between iam's sub-packages:
    only iam.aws.gateway imports boto3, and only accounts.allauth_bridge imports allauth's internal modules."""
    result = subprocess.run(
        [str(Path(sys.executable).parent / "lint-imports"), "--no-cache"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.returncode == 0, result.stdout
    assert "4 kept, 0 broken" in result.stdout


APPS = ["portal", "api", "scim", "reviews", "posture", "iam", "notifications", "access", "sod", "catalog", "accounts"]
APPS += ["audit", "inputs", "outbox"]
REFUSALS = {"Refusal", "InvalidInput", "NotAllowed", "StaleState", "Duplicate", "NotFound", "SodBlocked", "Contended"}


def test_the_refusal_vocabulary_comes_from_the_bottom_layer_alone():
    """Every app refuses with `inputs.refusals` (docs/architecture.md, "Refusals"): no module re-exports it under
    another name or place, and no module adds a refusal of its own. import-linter cannot say this: read here."""
    strays = []
    for path in sorted(p for app in APPS for p in (ROOT / app).rglob("*.py") if "migrations" not in p.parts):
        where = path.relative_to(ROOT)
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            ours = isinstance(node, ast.ImportFrom) and (node.level or str(node.module).split(".")[0] in APPS)
            if ours and node.module != "inputs.refusals":
                strays += [
                    f"{where}: imports {alias.name} from {node.module}"
                    for alias in node.names
                    if alias.name in REFUSALS
                ]
            if isinstance(node, ast.ClassDef) and str(where) != "inputs/refusals.py":
                bases = {base.id if isinstance(base, ast.Name) else getattr(base, "attr", "") for base in node.bases}
                strays += [f"{where}: class {node.name} extends {name}" for name in sorted(bases & REFUSALS)]

    assert strays == []
