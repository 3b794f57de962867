"""Settings for the access governance portal, read from the environment.

Every value comes from an environment variable with a safe default for the embedded
set-up (SQLite file, Celery on its filesystem transport, simulated AWS). A malformed
value stops start-up with a message naming the variable, so a typo never silently
becomes a default in production.
"""

from datetime import timedelta
from pathlib import Path
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django_guid.integrations import CeleryIntegration

from portal import sso_settings, task_limits
from portal.env import (
    env_addresses,
    env_bool,
    env_choice,
    env_crontab,
    env_database,
    env_email,
    env_int,
    env_list,
    env_networks,
    env_secret_key,
    env_signing_key,
    env_str,
    env_url,
    redis_url_with_next_database,
)
from portal.sentry import start as start_sentry

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("PORTAL_VAR_DIR", str(BASE_DIR / "var")))

DEBUG = env_bool("PORTAL_DEBUG", False)
SECRET_KEY = env_secret_key("PORTAL_SECRET_KEY", VAR_DIR / "secret_key")
ALLOWED_HOSTS = env_list("PORTAL_ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("PORTAL_CSRF_TRUSTED_ORIGINS", [])
SITE_URL = env_str("PORTAL_SITE_URL", "http://127.0.0.1:8000")
# How many reverse proxies in front of the portal append to X-Forwarded-For. It alone decides a request's
# client address for the audit trail, sign-in rate limits and API throttles (audit/context.py): with 0 the
# header is ignored and the connection's address counts.
TRUSTED_PROXIES = env_int("PORTAL_TRUSTED_PROXIES", 0)

INSTALLED_APPS = [
    "portal.admin_site.PortalAdminConfig",  # django.contrib.admin, on the portal's AdminSite
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "allauth.socialaccount",
    "allauth.socialaccount.providers.openid_connect",
    "allauth.socialaccount.providers.saml",
    "rest_framework",
    "knox",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "csp",
    "django_filters",
    "django_guid",
    "django_prometheus",
    "inputs",
    "outbox",
    "portal",
    "accounts",
    "catalog",
    "audit",
    "sod",
    "access",
    "reviews",
    "iam",
    "posture",
    "notifications",
    "api",
    "scim",
]

MIDDLEWARE = [
    # First: a load balancer's or orchestrator's probe of /health/live or /health/ready is answered on plain
    # HTTP whatever its Host, before host validation and the redirect to HTTPS (portal/health/middleware.py).
    "portal.health.middleware.HealthProbeMiddleware",
    # First and last: django-prometheus times the whole request (portal/metrics.py serves /metrics).
    "django_prometheus.middleware.PrometheusBeforeMiddleware",
    # The request id (X-Request-ID) of every log line and of the tasks sent meanwhile (portal/logs.py).
    "django_guid.middleware.guid_middleware",
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "portal.logs.LogContextMiddleware",  # the user id of every log line
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # The cache (sign-in limits) unreachable: 503 with Retry-After, in words, never a 500 (portal/outages.py).
    "portal.outages.CacheOutageMiddleware",
    # Bodies too large, NUL bytes, invalid UTF-8, ids beyond 18 digits: 400 (or 404) in words (inputs/).
    "inputs.middleware.InputGuardMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "audit.context.ClientIpMiddleware",
    # A sign-in ends after SESSION_MAX_SECONDS however busy the session (accounts/session_limits.py).
    "accounts.session_limits.SessionLifetimeMiddleware",
    # Deny by default: every view needs a login unless marked @login_not_required.
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    # Whoever decides on access must have a second factor before anything else (accounts/mfa.py).
    "accounts.mfa.MfaRequiredMiddleware",
    "django_prometheus.middleware.PrometheusAfterMiddleware",
]

ROOT_URLCONF = "portal.urls"
WSGI_APPLICATION = "portal.wsgi.application"
ASGI_APPLICATION = "portal.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "portal.context_processors.navigation",
                "accounts.adapters.sign_in_options",
            ],
        },
    },
]

# --- REST API: token auth for scripts, session auth (with CSRF) for the browser; deny by default.
# API tokens (django-rest-knox, hashed at rest, one per device: accounts.tokens) end this many days
# after they were issued.
API_TOKEN_DAYS = env_int("PORTAL_API_TOKEN_DAYS", 30, minimum=1)
KNOX_TOKEN_MODEL = "accounts.ApiToken"  # noqa: S105 (a model name, not a secret)
# Knox's own token model is swapped out for ours; its migrations would still create its table, which
# nothing uses and which blocks emptying the database (it refers to people, yet no model names it).
MIGRATION_MODULES = {"knox": None}
REST_KNOX = {
    "TOKEN_TTL": timedelta(days=API_TOKEN_DAYS),
    # Clients keep sending `Authorization: Token <key>`, as with the tokens before knox.
    "AUTH_HEADER_PREFIX": "Token",
    "AUTO_REFRESH": False,
}
# SCIM provisioning (scim/, docs/provisioning.md): calls a minute per identity provider's token, counted
# in the cache; above it, 429 with Retry-After. Okta and Entra send a few per second at most.
SCIM_REQUESTS_PER_MINUTE = env_int("PORTAL_SCIM_REQUESTS_PER_MINUTE", 600, minimum=1)

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "api.authentication.PortalTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    # JSON refused past 32 levels, with a NUL in a string or a number beyond 64 bits (api/parsers.py).
    "DEFAULT_PARSER_CLASSES": [
        "api.parsers.BoundedJSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    # Refusals (inputs.refusals, accounts.tokens.TokenError), model checks and a cache outage as answers, in
    # one place for every API view (api/exceptions.py).
    "EXCEPTION_HANDLER": "api.exceptions.api_exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "api.pagination.CappedPageNumberPagination",  # counts stop at 10,000
    "PAGE_SIZE": 50,
    # Throttles other than api/throttling.py's (which use audit.context.client_address) still trust
    # only as many X-Forwarded-For entries as there are proxies, never the whole header.
    "NUM_PROXIES": TRUSTED_PROXIES,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Access Portal API",
    "DESCRIPTION": "Request, approve and inspect access to AWS. Every change goes through the same "
    "service functions as the pages.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    # Swagger UI and ReDoc from the installed sidecar package, never from a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Several models have a `kind` or `state`: name each choice set after its model.
    "ENUM_NAME_OVERRIDES": {
        "EntitlementKindEnum": "catalog.models.Entitlement.Kind",
        "RequestKindEnum": "access.models.AccessRequest.Kind",
        "RequestStateEnum": "access.models.AccessRequest.State",
        "StageStateEnum": "access.models.Approval.State",
        "VoteDecisionEnum": "access.models.ApprovalAssignment.Decision",
        "GrantSyncStateEnum": "access.models.Grant.SyncState",
        "GrantDesiredEnum": "access.models.Grant.Desired",
        "GrantSourceEnum": "access.models.Grant.Source",
        "RiskEnum": "catalog.models.Risk",
        "BulkDecisionEnum": "api.serializers.approvals.DECISIONS",
        "ReviewDecisionEnum": "reviews.models.ReviewItem.Decision",
        "ReviewVerdictEnum": "api.serializers.reviews.VERDICTS",
    },
    # Every 4xx/5xx response is the one `Error` body the API sends (api/schema.py); enums as drf-spectacular does.
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "api.schema.errors_are_one_shape",
    ],
}

# --- Database: a SQLite file unless DATABASE_URL names another (PostgreSQL via psycopg 3).
DATABASES = {"default": env_database("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'portal.sqlite3'}")}
# django-prometheus's wrappers of the same backends count queries, errors and connections for /metrics.
DATABASES["default"]["ENGINE"] = DATABASES["default"]["ENGINE"].replace(
    "django.db.backends.", "django_prometheus.db.backends."
)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- People and login (django-allauth, email + password).
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    # Refuses passwords while PORTAL_LOCAL_PASSWORDS is false (but for break-glass accounts); holds no session.
    "accounts.adapters.LocalPasswordGate",
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_EMAIL_VERIFICATION = "none"
ACCOUNT_LOGOUT_ON_GET = False
ACCOUNT_SESSION_REMEMBER = False
# People are provisioned by admins (and later the HR feed / SSO), never by self sign-up.
ACCOUNT_ADAPTER = "accounts.adapters.NoSignupAccountAdapter"
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "home"
ACCOUNT_LOGOUT_REDIRECT_URL = "account_login"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
SESSION_COOKIE_AGE = env_int("PORTAL_SESSION_SECONDS", 8 * 3600)
SESSION_MAX_SECONDS = env_int("PORTAL_SESSION_MAX_SECONDS", 12 * 3600, minimum=SESSION_COOKIE_AGE)
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
# Second factors (allauth.mfa): an authenticator app, one-time recovery codes, security keys.
# Approvers, reviewers, owners and admins must have one (accounts/mfa.py); signing in asks for it.
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes", "webauthn"]
MFA_TOTP_ISSUER = env_str("PORTAL_MFA_ISSUER", "Access Portal")
# Browsers allow WebAuthn on HTTPS only; plain http://127.0.0.1 is accepted for the development server.
MFA_WEBAUTHN_ALLOW_INSECURE_ORIGIN = DEBUG
# Step-up: approving a high-risk request, granting an SoD exception and signing off a campaign need
# a second factor proven this recently (accounts/step_up_proof.py).
STEP_UP_SECONDS = env_int("PORTAL_STEP_UP_SECONDS", 15 * 60, minimum=60)

LANGUAGE_CODE = "en-us"
TIME_ZONE = env_str("PORTAL_TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

# --- Single sign-on (allauth.socialaccount): an OpenID Connect provider and/or a SAML identity provider,
# each switched on by its PORTAL_OIDC_* / PORTAL_SAML_* variables; with neither, the sign-in page shows
# no SSO button and nothing else changes. The identity provider is trusted for email addresses: a
# verified email that matches a person signs in as that person and links the identity to them
# (SOCIALACCOUNT_EMAIL_AUTHENTICATION), so configure only your organisation's own IdP. How people are
# created and updated from the claims: accounts/sso.py.
SOCIALACCOUNT_ADAPTER = "accounts.sso.SingleSignOnAdapter"
SOCIALACCOUNT_EMAIL_AUTHENTICATION = True
# accounts.sso links the identity itself, audited, in the transaction that updates the person.
SOCIALACCOUNT_EMAIL_AUTHENTICATION_AUTO_CONNECT = False
SOCIALACCOUNT_AUTO_SIGNUP = True  # SSO creates people; password sign-up stays closed (ACCOUNT_ADAPTER)
SOCIALACCOUNT_EMAIL_REQUIRED = True
SOCIALACCOUNT_EMAIL_VERIFICATION = "none"
SOCIALACCOUNT_STORE_TOKENS = False  # the portal never calls the IdP on someone's behalf
SOCIALACCOUNT_LOGIN_ON_GET = False  # the sign-in buttons POST (CSRF); a plain GET asks to confirm first
# The configured providers, read from the PORTAL_OIDC_* and PORTAL_SAML_* variables (portal/sso_settings.py).
SOCIALACCOUNT_PROVIDERS = sso_settings.providers()
# Local passwords can be switched off once SSO works; break-glass accounts keep theirs (accounts/adapters.py).
LOCAL_PASSWORDS = env_bool("PORTAL_LOCAL_PASSWORDS", True)
BREAK_GLASS_EMAILS = [email.lower() for email in env_list("PORTAL_BREAK_GLASS_EMAILS", [])]
if not LOCAL_PASSWORDS and not SOCIALACCOUNT_PROVIDERS:
    raise ImproperlyConfigured(
        "PORTAL_LOCAL_PASSWORDS=false needs single sign-on: set the PORTAL_OIDC_* or PORTAL_SAML_IDP_* variables."
    )
ACCOUNT_FORMS = {"reset_password": "accounts.adapters.PasswordResetForm"}

# --- Static files: vendored libraries in static/, served by whitenoise.
STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = VAR_DIR / "staticfiles"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # whitenoise expects it even before collectstatic
# Evidence packs built by the workers (reviews.EvidencePack): files under PORTAL_EVIDENCE_DIR, or an S3 bucket
# (django-storages) when PORTAL_EVIDENCE_BUCKET is set. Web and workers must see the same store: with several
# machines, a shared folder or the bucket. The bucket is private: downloads go through the portal, which checks
# who asks and audits it (never a public or pre-signed URL).
EVIDENCE_BUCKET = env_str("PORTAL_EVIDENCE_BUCKET", "")
EVIDENCE_DIR = Path(env_str("PORTAL_EVIDENCE_DIR", str(VAR_DIR / "evidence")))
if EVIDENCE_BUCKET:
    EVIDENCE_STORAGE = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": EVIDENCE_BUCKET,
            "location": env_str("PORTAL_EVIDENCE_PREFIX", "evidence-packs"),
            "default_acl": None,
            "querystring_auth": True,
            "file_overwrite": False,
            "object_parameters": {"ServerSideEncryption": "AES256"},
            # Empty: boto3's own (AWS_DEFAULT_REGION, the instance's role); an endpoint for S3-compatible stores.
            "region_name": env_str("PORTAL_EVIDENCE_REGION", "") or None,
            "endpoint_url": env_str("PORTAL_EVIDENCE_ENDPOINT_URL", "") or None,
        },
    }
else:
    EVIDENCE_STORAGE = {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        # No base URL: the files are never served by the web server directly, only through the download view.
        "OPTIONS": {"location": str(EVIDENCE_DIR), "base_url": None, "file_permissions_mode": 0o600},
    }
# Up to this many lines, the evidence links still build the pack in the request (well under a second); a larger
# campaign's pack is asked for on its page and built by a worker (reviews/evidence_views.py).
EVIDENCE_INLINE_MAX_LINES = env_int("PORTAL_EVIDENCE_INLINE_MAX_LINES", 2000)
STORAGES: dict[str, dict[str, Any]] = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "evidence": EVIDENCE_STORAGE,
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}
# Serve straight from the finders when collectstatic has not run (embedded set-up, tests).
WHITENOISE_USE_FINDERS = env_bool("PORTAL_STATIC_FROM_FINDERS", True)
WHITENOISE_MANIFEST_STRICT = False

# --- Email: one URL, PORTAL_EMAIL_URL (smtp+tls://user:password@host:587, console://, file:///folder),
# parsed by dj-email-url (portal/env.py). The older PORTAL_EMAIL_BACKEND/_HOST/_PORT still work when it is
# unset. With neither, mail goes to the console: fine for `make run`, refused outside DEBUG by a system
# check (portal/checks.py) unless PORTAL_EMAIL_URL=console:// says so on purpose.
_email = env_email("PORTAL_EMAIL_URL")
_legacy_email = [
    name for name in ("PORTAL_EMAIL_BACKEND", "PORTAL_EMAIL_HOST", "PORTAL_EMAIL_PORT") if env_str(name, "")
]
if _email and _legacy_email:
    raise ImproperlyConfigured(f"Set PORTAL_EMAIL_URL or {', '.join(_legacy_email)}, not both.")
if _email:
    EMAIL_BACKEND = _email["EMAIL_BACKEND"]
    EMAIL_HOST = _email["EMAIL_HOST"] or "localhost"
    EMAIL_PORT = _email["EMAIL_PORT"] or 25
    EMAIL_HOST_USER = _email["EMAIL_HOST_USER"]
    EMAIL_HOST_PASSWORD = _email["EMAIL_HOST_PASSWORD"]
    EMAIL_USE_TLS = _email["EMAIL_USE_TLS"]
    EMAIL_USE_SSL = _email["EMAIL_USE_SSL"]
    EMAIL_TIMEOUT = _email["EMAIL_TIMEOUT"] or 30
    if _email["EMAIL_FILE_PATH"]:
        EMAIL_FILE_PATH = _email["EMAIL_FILE_PATH"]
    EMAIL_CHOSEN = _email["EMAIL_URL_SCHEME"]
else:
    EMAIL_BACKEND = env_str("PORTAL_EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
    EMAIL_HOST = env_str("PORTAL_EMAIL_HOST", "localhost")
    EMAIL_PORT = env_int("PORTAL_EMAIL_PORT", 25)
    EMAIL_TIMEOUT = 30
    EMAIL_CHOSEN = "legacy" if _legacy_email else ""  # "": nobody chose; the check refuses it in production
DEFAULT_FROM_EMAIL = env_str("PORTAL_FROM_EMAIL", "Access Portal <access-portal@localhost>")
SERVER_EMAIL = env_str("PORTAL_SERVER_EMAIL", DEFAULT_FROM_EMAIL)  # the sender of error reports
# Who gets an email for every server error (with secrets masked: portal/redaction.py).
ADMINS = env_addresses("PORTAL_ADMINS")

# --- Celery: the broker PORTAL_BROKER_URL names (redis:// or amqp:// for RabbitMQ), else Redis at REDIS_URL,
# else the filesystem transport under var/ (the embedded set-up).
REDIS_URL = env_str("REDIS_URL", "")
CELERY_FILESYSTEM_DIR = VAR_DIR / "celery"
# How long a worker may hold a claimed grant before another worker may take it over.
GRANT_SYNC_LEASE_SECONDS = env_int("PORTAL_GRANT_SYNC_LEASE_SECONDS", 300, minimum=1)
# Time limits (portal/task_limits.py): a soft limit raises in the task, the hard one ends its process.
# Defaults for every task, longer ones for the tasks that walk whole accounts or tables, and grant syncs
# ended before their lease runs out. Enforced by the prefork pool (production), not by `--pool=solo`.
TASK_SOFT_TIME_LIMIT = env_int("PORTAL_TASK_SOFT_TIME_LIMIT", 300, minimum=10)
TASK_TIME_LIMIT = env_int("PORTAL_TASK_TIME_LIMIT", TASK_SOFT_TIME_LIMIT + 60, minimum=TASK_SOFT_TIME_LIMIT + 1)
LONG_TASK_SOFT_TIME_LIMIT = env_int("PORTAL_LONG_TASK_SOFT_TIME_LIMIT", 3300, minimum=TASK_SOFT_TIME_LIMIT)
LONG_TASK_TIME_LIMIT = env_int(
    "PORTAL_LONG_TASK_TIME_LIMIT", LONG_TASK_SOFT_TIME_LIMIT + 300, minimum=LONG_TASK_SOFT_TIME_LIMIT + 1
)
CELERY_TASK_SOFT_TIME_LIMIT, CELERY_TASK_TIME_LIMIT = TASK_SOFT_TIME_LIMIT, TASK_TIME_LIMIT
CELERY_TASK_ANNOTATIONS = task_limits.annotations(
    long_limits=(LONG_TASK_SOFT_TIME_LIMIT, LONG_TASK_TIME_LIMIT), grant_sync_lease=GRANT_SYNC_LEASE_SECONDS
)
# A worker process past this much memory (KiB) is replaced after its task: a leak cannot grow forever.
CELERY_WORKER_MAX_MEMORY_PER_CHILD = env_int("PORTAL_WORKER_MAX_MEMORY_MB", 512, minimum=64) * 1024
CELERY_BROKER_URL = env_url("PORTAL_BROKER_URL", REDIS_URL, schemes=("redis", "rediss", "amqp", "amqps"))
if CELERY_BROKER_URL.startswith("redis"):
    # Redis hands a message not yet acknowledged (tasks are acknowledged late) to another worker after this
    # long: it must outlast the longest task and the longest retry countdown, or work runs twice.
    BROKER_VISIBILITY_TIMEOUT = env_int(
        "PORTAL_BROKER_VISIBILITY_TIMEOUT",
        2 * LONG_TASK_TIME_LIMIT,
        minimum=max(LONG_TASK_TIME_LIMIT, task_limits.LONGEST_COUNTDOWN_SECONDS) + 60,
    )
    CELERY_BROKER_TRANSPORT_OPTIONS: dict[str, object] = {"visibility_timeout": BROKER_VISIBILITY_TIMEOUT}
elif CELERY_BROKER_URL:
    # RabbitMQ confirms each message it has taken, so a task sent is not lost if the broker restarts.
    CELERY_BROKER_TRANSPORT_OPTIONS = {"confirm_publish": True}
else:
    CELERY_BROKER_URL = "filesystem://"
    # kombu's own filesystem transport can hand a worker a half-written message (portal/broker.py).
    CELERY_BROKER_TRANSPORT = "portal.broker:AtomicFilesystemTransport"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(CELERY_FILESYSTEM_DIR / "queue"),
        "data_folder_out": str(CELERY_FILESYSTEM_DIR / "queue"),
        "processed_folder": str(CELERY_FILESYSTEM_DIR / "processed"),
        "control_folder": str(CELERY_FILESYSTEM_DIR / "control"),
        "store_processed": False,
    }
    # Producers and the worker both need the folders before the first message.
    (CELERY_FILESYSTEM_DIR / "queue").mkdir(parents=True, exist_ok=True)
    (CELERY_FILESYSTEM_DIR / "processed").mkdir(parents=True, exist_ok=True)
    (CELERY_FILESYSTEM_DIR / "control").mkdir(parents=True, exist_ok=True)
CELERY_TASK_DEFAULT_QUEUE = env_str("PORTAL_CELERY_QUEUE", "portal")


def celery_queues(default: str) -> tuple[list, dict]:
    """Two queues: `default` for making AWS match the ledger (latency matters), `<default>-background`
    for the rest (notifications, SoD re-checks, reconciles, imports), so syncing never waits behind
    email. One worker may consume both (`make run`); in production run one per queue."""
    from kombu import Queue

    background = f"{default}-background"
    route = {"queue": background}
    routes = {
        "notifications.*": route,
        "access.sod_*": route,
        "access.remind_expiring_grants": route,
        "iam.reconcile_*": route,
        "iam.connect_account": route,
        "iam.import_entitlements": route,
        "iam.run_import": route,
        "iam.fetch_permissions": route,
        "iam.refresh_permissions": route,
        "reviews.*": route,
        "posture.*": route,
        "audit.*": route,
    }
    return [Queue(default), Queue(background)], routes


CELERY_TASK_QUEUES, CELERY_TASK_ROUTES = celery_queues(CELERY_TASK_DEFAULT_QUEUE)
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Celery's Django fix-up closes the database connection around every task unless this is set;
# with it, workers keep their connection like the web server does (CONN_MAX_AGE, health checks
# before each task: portal.celery), and the fix-up still recycles it after this many tasks.
CELERY_DB_REUSE_MAX = env_int("PORTAL_CELERY_DB_REUSE_MAX", 1000, minimum=1)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
if REDIS_URL:
    # Beat keeps its schedule in Redis and runs only while it holds a lock there (celery-redbeat): a second
    # beat started by mistake, or as a standby, waits and takes over within the lock's time if the first dies.
    CELERY_BEAT_SCHEDULER = "redbeat.RedBeatScheduler"
    CELERY_REDBEAT_REDIS_URL = REDIS_URL
    CELERY_REDBEAT_REDIS_OPTIONS: dict[str, object] = {}  # not the broker's transport options
    CELERY_REDBEAT_KEY_PREFIX = f"{CELERY_TASK_DEFAULT_QUEUE}:beat:"  # one installation's schedule and lock
    CELERY_REDBEAT_LOCK_TIMEOUT = env_int("PORTAL_BEAT_LOCK_SECONDS", 60, minimum=15)
    # The beat holding the lock renews it at every wake-up, so it wakes up well within the lock's time.
    CELERY_BEAT_MAX_LOOP_INTERVAL = 5
# How many waiting grants of one account a sync task claims and applies together (one client,
# one transaction to record them). A batch must finish well within the lease.
GRANT_SYNC_BATCH_SIZE = env_int("PORTAL_GRANT_SYNC_BATCH_SIZE", 25, minimum=1)
# How many people's grants of a batch one sync task applies at once, in threads (iam.aws.at_once): AWS
# answers each call in milliseconds, during which the worker would otherwise wait with nothing to do.
GRANT_SYNC_THREADS = env_int("PORTAL_GRANT_SYNC_THREADS", 4, minimum=1)

# --- AWS: boto3's usual credential chain; AWS_ENDPOINT_URL points it at a simulated AWS.
AWS_ENDPOINT_URL = env_str("AWS_ENDPOINT_URL", "")
AWS_REGION = env_str("AWS_REGION", env_str("AWS_DEFAULT_REGION", "us-east-1"))
AWS_MAX_ATTEMPTS = env_int("PORTAL_AWS_MAX_ATTEMPTS", 5)
if _email and EMAIL_CHOSEN == "ses":  # PORTAL_EMAIL_URL=ses://[region]: django-ses, boto3's usual credentials
    AWS_SES_REGION_NAME = _email["SES_REGION"] or AWS_REGION
    AWS_SES_REGION_ENDPOINT = f"email.{AWS_SES_REGION_NAME}.amazonaws.com"
    AWS_SES_REGION_ENDPOINT_URL = AWS_ENDPOINT_URL or None
# "adaptive": botocore's standard retries plus its client-side rate limiter, which starts limiting
# an account's client at its first throttling answer and finds the rate AWS allows (CUBIC), so many
# grants at once slow down instead of exhausting their retries. One client per account and process.
AWS_RETRY_MODE = env_choice("PORTAL_AWS_RETRY_MODE", "adaptive", ("adaptive", "standard"))

# --- Security headers. HTTPS settings switch on outside DEBUG; a reverse proxy terminating TLS
# must set X-Forwarded-Proto.
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False  # htmx reads the token from the page, not from the cookie.
HTTPS = env_bool("PORTAL_HTTPS", not DEBUG)
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
SECURE_SSL_REDIRECT = env_bool("PORTAL_SSL_REDIRECT", HTTPS)
SECURE_HSTS_SECONDS = env_int("PORTAL_HSTS_SECONDS", 31536000 if HTTPS else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = HTTPS
SECURE_HSTS_PRELOAD = HTTPS
if HTTPS:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# Content-Security-Policy: everything from this server, no inline script or style, no framing.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}

# --- Cache: Redis at PORTAL_CACHE_URL, else in the database after the broker's on REDIS_URL's server (its own:
# clearing or evicting it never drops a queued task), else files under var/ (login rate limits need a real cache).
CACHE_URL = env_url(
    "PORTAL_CACHE_URL", redis_url_with_next_database(REDIS_URL, "REDIS_URL") if REDIS_URL else "", ("redis", "rediss")
)
if CACHE_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": CACHE_URL,
            "KEY_PREFIX": env_str("PORTAL_CACHE_PREFIX", "portal"),
        }
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(VAR_DIR / "cache"),
        }
    }
# Failed sign-ins are limited per address and per account (allauth's limits, on the cache above).
ACCOUNT_RATE_LIMITS = {"login_failed": "10/m/ip,5/5m/key", "login": "30/m/ip"}

# Secrets never reach a log line or an error email (portal/redaction.py): every handler masks the
# installation's secret values, and error reports hide secrets by name in settings, the request and
# the traceback's local variables. Lines are JSON outside DEBUG (PORTAL_LOG_FORMAT), each with the
# request id and user id (portal/logs.py).
LOG_FORMAT = env_choice("PORTAL_LOG_FORMAT", "text" if DEBUG else "json", ("json", "text"))
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "json": {
            "()": "portal.logs.JsonLines",
            "fmt": "%(levelname)s %(name)s %(message)s",
            "rename_fields": {"levelname": "level", "name": "logger"},
            "timestamp": "time",
        },
        "django.server": {
            "()": "django.utils.log.ServerFormatter",
            "format": "[{server_time}] {message}",
            "style": "{",
        },
    },
    "filters": {
        "redact_secrets": {"()": "portal.redaction.RedactSecrets"},
        "request_context": {"()": "portal.logs.RequestContext"},
        "require_debug_false": {"()": "django.utils.log.RequireDebugFalse"},
        "quiet_probes": {"()": "portal.health.middleware.QuietProbes"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "plain" if LOG_FORMAT == "text" else "json",
            "filters": ["quiet_probes", "request_context", "redact_secrets"],
        },
        "mail_admins": {
            "class": "django.utils.log.AdminEmailHandler",
            "level": "ERROR",
            "filters": ["require_debug_false", "quiet_probes", "redact_secrets"],
            "reporter_class": "portal.redaction.RedactingExceptionReporter",
        },
        # The development server's request lines, as Django prints them by default.
        "django.server": {
            "class": "logging.StreamHandler",
            "formatter": "django.server" if LOG_FORMAT == "text" else "json",
            "filters": ["request_context", "redact_secrets"],
        },
    },
    "root": {"handlers": ["console"], "level": env_str("PORTAL_LOG_LEVEL", "INFO")},
    "loggers": {
        # Named here so Django's default handlers for it (an unfiltered mail_admins) are replaced,
        # not kept beside these; its lines still reach the console through the root logger.
        "django": {"handlers": ["mail_admins"], "level": "INFO"},
        "django.server": {"handlers": ["django.server"], "level": "INFO", "propagate": False},
        "botocore": {"level": "WARNING"},
        "urllib3": {"level": "WARNING"},
        "werkzeug": {"level": "WARNING"},  # the simulated AWS's request log
        # A failing probe check is in the probe's answer; only an unexpected error in one is logged.
        "health_check": {"level": "ERROR"},
        "django_guid": {"level": "WARNING"},  # a line per request and task otherwise
    },
}
# django-guid: the request id from X-Request-ID when it is a UUID (else a new one), returned in the
# response and carried into Celery tasks (its integration also makes workers use LOGGING above).
DJANGO_GUID = {
    "GUID_HEADER_NAME": "X-Request-ID",
    "VALIDATE_GUID": True,
    "RETURN_HEADER": True,
    "EXPOSE_HEADER": False,
    "INTEGRATIONS": [CeleryIntegration(use_django_logging=True)],
}

# --- Metrics (portal/metrics.py, portal/task_metrics.py): GET /metrics for the bearer token or from the
# allowed networks; with neither, /metrics is 404.
METRICS_TOKEN = env_str("PORTAL_METRICS_TOKEN", "")
if METRICS_TOKEN and len(METRICS_TOKEN) < 32:
    raise ImproperlyConfigured("PORTAL_METRICS_TOKEN must be at least 32 characters long.")
METRICS_ALLOWED_NETWORKS = env_networks("PORTAL_METRICS_ALLOWED_NETWORKS")
# A worker's own metrics endpoint (none by default; workers beside a web server share its folder).
WORKER_METRICS_PORT = env_int("PORTAL_WORKER_METRICS_PORT", 0)
WORKER_METRICS_ADDRESS = env_str("PORTAL_WORKER_METRICS_ADDRESS", "127.0.0.1")

# --- Error reports to Sentry, only when SENTRY_DSN is set (portal/sentry.py).
SENTRY_DSN = env_str("SENTRY_DSN", "")
start_sentry(SENTRY_DSN)
DEFAULT_EXCEPTION_REPORTER_FILTER = "portal.redaction.SecretsExceptionReporterFilter"

# --- Audit anchors (audit/anchoring.py): every PORTAL_AUDIT_ANCHOR_SECONDS a signed digest of the chain's head is
# written outside the database, where the portal can only add: files under AUDIT_ANCHOR_DIR, or objects in an
# S3 bucket with object lock (AUDIT_ANCHOR_BUCKET, written by iam/aws/audit_anchors.py). verify_audit checks the
# rows against them, so rewriting the rows and the chain together is still found.
AUDIT_ANCHOR_KEY = env_signing_key("PORTAL_AUDIT_ANCHOR_KEY", VAR_DIR / "audit_anchor_key")
# Public keys (base64) of earlier anchor keys, whose digests still count after the key was replaced.
AUDIT_ANCHOR_PREVIOUS_KEYS = env_list("PORTAL_AUDIT_ANCHOR_PREVIOUS_KEYS", [])
AUDIT_ANCHOR_DIR = Path(env_str("PORTAL_AUDIT_ANCHOR_DIR", str(VAR_DIR / "audit-anchors")))
AUDIT_ANCHOR_BUCKET = env_str("PORTAL_AUDIT_ANCHOR_BUCKET", "")
AUDIT_ANCHOR_PREFIX = env_str("PORTAL_AUDIT_ANCHOR_PREFIX", "audit-anchors/")
# Each object is locked (COMPLIANCE mode) this long: nobody, not even the account's root, can delete it sooner.
AUDIT_ANCHOR_RETENTION_DAYS = env_int("PORTAL_AUDIT_ANCHOR_RETENTION_DAYS", 7 * 366, minimum=1)

# --- Request and approval timing.
REQUEST_EXPIRY_DAYS = env_int("PORTAL_REQUEST_EXPIRY_DAYS", 14, minimum=1)
APPROVAL_ESCALATE_AFTER_HOURS = env_int("PORTAL_APPROVAL_ESCALATE_AFTER_HOURS", 48, minimum=1)
APPROVAL_REMIND_EVERY_HOURS = env_int("PORTAL_APPROVAL_REMIND_EVERY_HOURS", 24, minimum=1)
# Approvers with at least this many waiting steps get one digest instead of one email each.
NOTIFICATION_DIGEST_THRESHOLD = env_int("PORTAL_NOTIFICATION_DIGEST_THRESHOLD", 3, minimum=2)

# Separation of duties reads who holds what from the grant ledger, in `access` above it (sod/holdings.py),
# through this function. Code, not a deployment's choice: not read from the environment.
SOD_HOLDINGS = "access.selectors.present_holdings"

# /health/ready reuses its answer this long (it answers anyone, and each run asks every worker).
HEALTH_READY_CACHE_SECONDS = env_int("PORTAL_READY_CACHE_SECONDS", 2)
# Beat sends a heartbeat this often; /health/ready fails when the last one is older than twice this.
BEAT_HEARTBEAT_SECONDS = env_int("PORTAL_BEAT_HEARTBEAT_SECONDS", 60, minimum=5)
# The nightly jobs moved from intervals (counted from beat's start) to crontab times (in TIME_ZONE).
for _replaced in ("PORTAL_PERMISSIONS_REFRESH_SECONDS", "PORTAL_SOD_SCAN_SECONDS", "PORTAL_POSTURE_SCAN_SECONDS"):
    if env_str(_replaced, ""):
        raise ImproperlyConfigured(
            f"{_replaced} is replaced by {_replaced.removesuffix('SECONDS')}CRONTAB, a crontab line ('30 2 * * *')."
        )

# How often beat runs the outbox relay, which sends the tasks the broker missed at commit (outbox/relay.py).
OUTBOX_RELAY_SECONDS = env_int("PORTAL_OUTBOX_RELAY_SECONDS", 10, minimum=1)
# /health/ready fails when a task has waited in the outbox longer than this: the broker refuses tasks, or
# nothing relays them. Above the grace a fresh row is left to its own commit (60 s) plus a few relay runs.
OUTBOX_MAX_AGE_SECONDS = env_int("PORTAL_OUTBOX_MAX_AGE_SECONDS", 300, minimum=1)

# The whole periodic schedule, in one place (run by `celery beat`). Intervals in seconds; the nightly jobs
# at crontab times.
CELERY_BEAT_SCHEDULE = {
    # Tasks whose send failed at commit (broker down) or whose process died first (outbox/relay.py).
    "outbox-relay": {
        "task": "outbox.relay",
        "schedule": float(OUTBOX_RELAY_SECONDS),
        "options": {"expires": float(OUTBOX_RELAY_SECONDS)},
    },
    "beat-heartbeat": {
        "task": "portal.beat_heartbeat",
        "schedule": float(BEAT_HEARTBEAT_SECONDS),
        # One missed while the workers are down is worth nothing later: it expires instead of piling up.
        "options": {"expires": BEAT_HEARTBEAT_SECONDS},
    },
    "sweep-pending-grants": {
        "task": "iam.sweep_pending_grants",
        "schedule": float(env_int("PORTAL_SWEEP_PENDING_SECONDS", 60, minimum=5)),
    },
    "reconcile-accounts": {
        "task": "iam.reconcile_all",
        "schedule": float(env_int("PORTAL_RECONCILE_SECONDS", 900, minimum=60)),
    },
    # New accounts in the governed OUs of AWS Organizations, and every org account's role checked.
    "discover-organization": {
        "task": "iam.discover_organization",
        "schedule": env_crontab("PORTAL_ORGANIZATION_DISCOVERY_CRONTAB", "45 0 * * *"),
    },
    # What was done with each live (or just ended) grant, from its account's CloudTrail files.
    "summarise-grant-activity": {
        "task": "iam.summarise_live_grants",
        "schedule": env_crontab("PORTAL_GRANT_ACTIVITY_CRONTAB", "30 1 * * *"),
    },
    "refresh-entitlement-permissions": {
        "task": "iam.refresh_permissions",
        "schedule": env_crontab("PORTAL_PERMISSIONS_REFRESH_CRONTAB", "15 1 * * *"),
    },
    "expire-grants": {
        "task": "access.expire_grants",
        "schedule": float(env_int("PORTAL_EXPIRE_GRANTS_SECONDS", 60, minimum=5)),
    },
    "remind-expiring-grants": {
        "task": "access.remind_expiring_grants",
        "schedule": float(env_int("PORTAL_EXPIRY_REMINDER_SECONDS", 3600, minimum=60)),
    },
    "expire-stale-requests": {
        "task": "access.expire_stale_requests",
        "schedule": float(env_int("PORTAL_EXPIRE_REQUESTS_SECONDS", 3600, minimum=60)),
    },
    "escalate-overdue-approvals": {
        "task": "access.escalate_overdue_approvals",
        "schedule": float(env_int("PORTAL_ESCALATION_CHECK_SECONDS", 900, minimum=60)),
    },
    "sod-nightly-scan": {
        "task": "access.sod_scan",
        "schedule": env_crontab("PORTAL_SOD_SCAN_CRONTAB", "30 2 * * *"),  # after the permissions are read
    },
    "sod-expire-exceptions": {
        "task": "access.sod_expire_exceptions",
        "schedule": float(env_int("PORTAL_SOD_EXCEPTION_CHECK_SECONDS", 3600, minimum=60)),
    },
    "posture-daily-scan": {
        "task": "posture.scan_all",
        "schedule": env_crontab("PORTAL_POSTURE_SCAN_CRONTAB", "0 3 * * *"),
    },
    "review-repeats": {
        "task": "reviews.repeat_templates",
        "schedule": float(env_int("PORTAL_REVIEW_REPEAT_CHECK_SECONDS", 3600, minimum=60)),
    },
    "review-reminders": {
        "task": "reviews.remind_reviewers",
        "schedule": float(env_int("PORTAL_REVIEW_REMINDER_SECONDS", 3600, minimum=60)),
    },
    "review-escalations": {
        "task": "reviews.escalate_reviewers",
        "schedule": float(env_int("PORTAL_REVIEW_ESCALATION_SECONDS", 3600, minimum=60)),
    },
    "review-remediation": {
        "task": "reviews.refresh_remediation",
        "schedule": float(env_int("PORTAL_REVIEW_REMEDIATION_SECONDS", 300, minimum=60)),
    },
    "remind-approvers": {
        "task": "notifications.remind_approvers",
        "schedule": float(env_int("PORTAL_APPROVER_REMINDER_CHECK_SECONDS", 3600, minimum=60)),
    },
    "anchor-audit-chain": {
        "task": "audit.anchor_chain",
        "schedule": float(env_int("PORTAL_AUDIT_ANCHOR_SECONDS", 3600, minimum=60)),
    },
    "send-notification-emails": {
        "task": "notifications.send_pending_emails",
        "schedule": float(env_int("PORTAL_NOTIFICATION_EMAIL_SECONDS", 60, minimum=5)),
    },
}
