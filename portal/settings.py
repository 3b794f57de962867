"""Settings for the access governance portal, read from the environment.

Every value comes from an environment variable with a safe default for the embedded
set-up (SQLite file, Celery on its filesystem transport, simulated AWS). A malformed
value stops start-up with a message naming the variable, so a typo never silently
becomes a default in production.
"""

from pathlib import Path

from portal.env import env_bool, env_database, env_int, env_list, env_secret_key, env_str

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("PORTAL_VAR_DIR", str(BASE_DIR / "var")))

DEBUG = env_bool("PORTAL_DEBUG", False)
SECRET_KEY = env_secret_key("PORTAL_SECRET_KEY", VAR_DIR / "secret_key")
ALLOWED_HOSTS = env_list("PORTAL_ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("PORTAL_CSRF_TRUSTED_ORIGINS", [])
SITE_URL = env_str("PORTAL_SITE_URL", "http://127.0.0.1:8000")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "allauth",
    "allauth.account",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "csp",
    "django_filters",
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
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "audit.context.ClientIpMiddleware",
    # Deny by default: every view needs a login unless marked @login_not_required.
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
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
            ],
        },
    },
]

# --- REST API: token auth for scripts, session auth (with CSRF) for the browser; deny by default.
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
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
}

# --- Database: a SQLite file unless DATABASE_URL names another (PostgreSQL via psycopg 3).
DATABASES = {"default": env_database("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'portal.sqlite3'}")}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- People and login (django-allauth, email + password).
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
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
SESSION_EXPIRE_AT_BROWSER_CLOSE = True

LANGUAGE_CODE = "en-us"
TIME_ZONE = env_str("PORTAL_TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

# --- Static files: vendored libraries in static/, served by whitenoise.
STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = VAR_DIR / "staticfiles"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # whitenoise expects it even before collectstatic
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
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

# --- Email: console in the embedded set-up, SMTP when EMAIL_URL-style settings are given.
EMAIL_BACKEND = env_str("PORTAL_EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = env_str("PORTAL_EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("PORTAL_EMAIL_PORT", 25)
DEFAULT_FROM_EMAIL = env_str("PORTAL_FROM_EMAIL", "Access Portal <access-portal@localhost>")

# --- Celery: Redis when REDIS_URL is set, else the filesystem transport under var/.
REDIS_URL = env_str("REDIS_URL", "")
CELERY_FILESYSTEM_DIR = VAR_DIR / "celery"
if REDIS_URL:
    CELERY_BROKER_URL = REDIS_URL
    CELERY_BROKER_TRANSPORT_OPTIONS = {}
else:
    CELERY_BROKER_URL = "filesystem://"
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
        "iam.fetch_permissions": route,
        "iam.refresh_permissions": route,
        "reviews.*": route,
        "posture.*": route,
    }
    return [Queue(default), Queue(background)], routes


CELERY_TASK_QUEUES, CELERY_TASK_ROUTES = celery_queues(CELERY_TASK_DEFAULT_QUEUE)
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
# How long a worker may hold a claimed grant before another worker may take it over.
GRANT_SYNC_LEASE_SECONDS = env_int("PORTAL_GRANT_SYNC_LEASE_SECONDS", 300)

# --- AWS: boto3's usual credential chain; AWS_ENDPOINT_URL points it at a simulated AWS.
AWS_ENDPOINT_URL = env_str("AWS_ENDPOINT_URL", "")
AWS_REGION = env_str("AWS_REGION", env_str("AWS_DEFAULT_REGION", "us-east-1"))
AWS_MAX_ATTEMPTS = env_int("PORTAL_AWS_MAX_ATTEMPTS", 5)

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

# --- Cache: Redis when REDIS_URL is set, else files under var/ (login rate limits need a real cache).
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
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

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("PORTAL_LOG_LEVEL", "INFO")},
    "loggers": {
        "botocore": {"level": "WARNING"},
        "urllib3": {"level": "WARNING"},
        "werkzeug": {"level": "WARNING"},  # the simulated AWS's request log
    },
}

# --- Request and approval timing.
REQUEST_EXPIRY_DAYS = env_int("PORTAL_REQUEST_EXPIRY_DAYS", 14, minimum=1)
APPROVAL_ESCALATE_AFTER_HOURS = env_int("PORTAL_APPROVAL_ESCALATE_AFTER_HOURS", 48, minimum=1)
APPROVAL_REMIND_EVERY_HOURS = env_int("PORTAL_APPROVAL_REMIND_EVERY_HOURS", 24, minimum=1)
# Approvers with at least this many waiting steps get one digest instead of one email each.
NOTIFICATION_DIGEST_THRESHOLD = env_int("PORTAL_NOTIFICATION_DIGEST_THRESHOLD", 3, minimum=2)

# The whole periodic schedule, in one place (run by `celery beat`). Intervals in seconds.
CELERY_BEAT_SCHEDULE = {
    "sweep-pending-grants": {
        "task": "iam.sweep_pending_grants",
        "schedule": float(env_int("PORTAL_SWEEP_PENDING_SECONDS", 60, minimum=5)),
    },
    "reconcile-accounts": {
        "task": "iam.reconcile_all",
        "schedule": float(env_int("PORTAL_RECONCILE_SECONDS", 900, minimum=60)),
    },
    "refresh-entitlement-permissions": {
        "task": "iam.refresh_permissions",
        "schedule": float(env_int("PORTAL_PERMISSIONS_REFRESH_SECONDS", 24 * 3600, minimum=300)),
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
        "schedule": float(env_int("PORTAL_SOD_SCAN_SECONDS", 24 * 3600, minimum=60)),
    },
    "sod-expire-exceptions": {
        "task": "access.sod_expire_exceptions",
        "schedule": float(env_int("PORTAL_SOD_EXCEPTION_CHECK_SECONDS", 3600, minimum=60)),
    },
    "posture-daily-scan": {
        "task": "posture.scan_all",
        "schedule": float(env_int("PORTAL_POSTURE_SCAN_SECONDS", 86400, minimum=3600)),
    },
    "review-repeats": {
        "task": "reviews.repeat_templates",
        "schedule": float(env_int("PORTAL_REVIEW_REPEAT_CHECK_SECONDS", 3600, minimum=60)),
    },
    "review-reminders": {
        "task": "reviews.remind_reviewers",
        "schedule": float(env_int("PORTAL_REVIEW_REMINDER_SECONDS", 3600, minimum=60)),
    },
    "review-remediation": {
        "task": "reviews.refresh_remediation",
        "schedule": float(env_int("PORTAL_REVIEW_REMEDIATION_SECONDS", 300, minimum=60)),
    },
    "remind-approvers": {
        "task": "notifications.remind_approvers",
        "schedule": float(env_int("PORTAL_APPROVER_REMINDER_CHECK_SECONDS", 3600, minimum=60)),
    },
    "send-notification-emails": {
        "task": "notifications.send_pending_emails",
        "schedule": float(env_int("PORTAL_NOTIFICATION_EMAIL_SECONDS", 60, minimum=5)),
    },
}
