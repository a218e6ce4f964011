"""Settings for every environment, read from environment variables.

Defaults give the embedded setup (SQLite under ``var/``, local-memory cache, the
database-backed task worker), so a fresh clone runs with nothing else installed.
``production.py`` tightens these; ``test.py`` only overrides.
"""

import secrets
from pathlib import Path

import dj_database_url
from django.utils.translation import gettext_lazy as _

from rathaus.settings.env import env_bool, env_int, env_json, env_list, env_path, env_str

PACKAGE_DIR = Path(__file__).resolve().parent.parent
# The repository root when running from a checkout; var/ and frontend/ live there.
PROJECT_DIR = PACKAGE_DIR.parent.parent
VAR_DIR = env_path("RATHAUS_VAR_DIR", PROJECT_DIR / "var")
# Real data and rule files (service catalogue, XRechnung artefacts, ...) are read
# from here and never copied into the repository.
RATHAUS_SHARED_DIR = env_path("RATHAUS_SHARED_DIR", PROJECT_DIR.parent / "shared")

DEBUG = env_bool("DEBUG", default=False)


def _secret_key() -> str:
    """SECRET_KEY from the environment, else a per-installation key kept in var/."""
    key = env_str("SECRET_KEY")
    if key:
        return key
    key_file = VAR_DIR / "secret_key"
    if key_file.exists():
        return key_file.read_text().strip()
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(50)
    key_file.write_text(key)
    key_file.chmod(0o600)
    return key


SECRET_KEY = _secret_key()
# Former keys during a rotation: they still verify signatures and open sealed values.
SECRET_KEY_FALLBACKS = env_list("SECRET_KEY_FALLBACKS", [])

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", ".localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    # Platform apps: know nothing of any domain.
    "rathaus.core",
    "rathaus.audit",
    "rathaus.notifications",
    "rathaus.privacy",
    "rathaus.organisation",
    "rathaus.workflow",
    "rathaus.accounts",
    "rathaus.oidc",
    "rathaus.api",
    # Domain apps, one per capability.
    "rathaus.legal",
    "rathaus.catalog",
    "rathaus.postfach",
    "rathaus.applications",
    "rathaus.buergerbuero",
    "rathaus.assistant",
    "rathaus.idpickup",
    "rathaus.fragdenob",
    "rathaus.einvoice",
    "rathaus.traffic",
    "rathaus.parking",
    "rathaus.charging",
    # Faces of the UI shell.
    "rathaus.portal",
    "rathaus.backoffice",
    "rathaus.kiosk",
    # Development identity provider: a clearly marked test IdP for eID-level logins.
    "rathaus.devidp",
    # Demo data loader (top layer: may use every app).
    "rathaus.demo",
    # Third party.
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django_htmx",
    "csp",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_tasks",
    "django_tasks_db",
]

MIDDLEWARE = [
    "rathaus.core.middleware.RequestIdMiddleware",
    "rathaus.core.middleware.MetricsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "rathaus.core.middleware.BodySizeLimitMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "rathaus.core.middleware.TenantMiddleware",
    "rathaus.accounts.middleware.IdleTimeoutMiddleware",
    "rathaus.accounts.middleware.PrivilegedSecondFactorMiddleware",
    "rathaus.core.middleware.ErrorPageMiddleware",
]

ROOT_URLCONF = "rathaus.urls"
WSGI_APPLICATION = "rathaus.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [PACKAGE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "rathaus.core.context_processors.rathaus",
                "rathaus.notifications.context_processors.unread_count",
                "rathaus.postfach.context_processors.unread_count",
            ],
        },
    }
]

# Database: SQLite under var/ by default, PostgreSQL in production (DATABASE_URL).
DATABASE_URL = env_str("DATABASE_URL", f"sqlite:///{VAR_DIR / 'rathaus.sqlite3'}")
DATABASES = {
    "default": dj_database_url.parse(DATABASE_URL, conn_max_age=env_int("DB_CONN_MAX_AGE", 60))
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    # WAL lets the web server and the task worker read while one of them writes;
    # IMMEDIATE transactions avoid "database is locked" on lock upgrades.
    DATABASES["default"]["OPTIONS"] = {
        "init_command": (
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=5000;"
        ),
        "transaction_mode": "IMMEDIATE",
    }
else:
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Cache and sessions: Redis when REDIS_URL is set (production), else local memory.
REDIS_URL = env_str("REDIS_URL")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "rathaus",
        }
    }
    SESSION_ENGINE = "django.contrib.sessions.backends.cache"
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    SESSION_ENGINE = "django.contrib.sessions.backends.db"

# Background work: django-tasks. The database worker by default; RQ on Redis to scale out.
TASK_BACKEND = env_str("RATHAUS_TASK_BACKEND", "database")
if TASK_BACKEND == "rq":
    TASKS = {"default": {"BACKEND": "django_tasks_rq.RQBackend", "QUEUES": ["default"]}}
    RQ_QUEUES = {"default": {"URL": REDIS_URL or "redis://127.0.0.1:6379/0"}}
    INSTALLED_APPS.append("django_rq")
else:
    TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}}

AUTH_USER_MODEL = "accounts.User"
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 10},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "portal:home"
LOGOUT_REDIRECT_URL = "portal:home"

# Languages: German first, complete English translation.
LANGUAGE_CODE = "de"
LANGUAGES = [("de", _("Deutsch")), ("en", _("English"))]
LOCALE_PATHS = [PACKAGE_DIR / "locale"]
USE_I18N = True
TIME_ZONE = "Europe/Berlin"
USE_TZ = True
LANGUAGE_COOKIE_NAME = "rathaus_language"
LANGUAGE_COOKIE_SAMESITE = "Lax"

STATIC_URL = "/static/"
STATIC_ROOT = env_path("STATIC_ROOT", VAR_DIR / "static")
# Browser libraries built from frontend/package.json land in frontend/dist; the
# shell works without them (pages are server-rendered), only partial updates degrade.
FRONTEND_DIST = env_path("RATHAUS_FRONTEND_DIST", PROJECT_DIR / "frontend" / "dist")
STATICFILES_DIRS: list[Path | tuple[str, Path]] = [PACKAGE_DIR / "static"]
if FRONTEND_DIST.is_dir():
    STATICFILES_DIRS.append(("vendor", FRONTEND_DIST))
STORAGES = {
    "default": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": VAR_DIR / "media"},
    },
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
MEDIA_ROOT = VAR_DIR / "media"

# Request limits: bodies above this are refused with 413 before a view reads them.
RATHAUS_MAX_REQUEST_BODY = env_int("RATHAUS_MAX_REQUEST_BODY", 20 * 1024 * 1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("RATHAUS_MAX_FORM_BODY", 2 * 1024 * 1024)
DATA_UPLOAD_MAX_NUMBER_FIELDS = 1000
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024

# Tenancy: the municipality comes from the host name; in development a setting picks it.
RATHAUS_BASE_DOMAIN = env_str("RATHAUS_BASE_DOMAIN", "localhost")
# How citizens reach the portal, for links in e-mails and SMS sent without a request.
RATHAUS_PUBLIC_SCHEME = env_str("RATHAUS_PUBLIC_SCHEME", "https")
RATHAUS_PUBLIC_PORT = env_int("RATHAUS_PUBLIC_PORT", 0)
RATHAUS_DEFAULT_TENANT = env_str("RATHAUS_DEFAULT_TENANT", "musterstadt")
# Hosts that name no municipality and get the default one (loopback, development).
RATHAUS_DEFAULT_TENANT_HOSTS = env_list(
    "RATHAUS_DEFAULT_TENANT_HOSTS", ["localhost", "127.0.0.1", "::1", "[::1]"]
)

# Operations.
RATHAUS_METRICS_TOKEN = env_str("RATHAUS_METRICS_TOKEN")
RATHAUS_METRICS_ALLOWED_IPS = env_list("RATHAUS_METRICS_ALLOWED_IPS", ["127.0.0.1", "::1"])
# Load balancers whose X-Forwarded-For we believe (for rate limits and audit records).
RATHAUS_TRUSTED_PROXIES = env_list("RATHAUS_TRUSTED_PROXIES", [])

# E-mail.
EMAIL_HOST = env_str("EMAIL_HOST", "127.0.0.1")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", default=False)
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", default=False)
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 10)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "rathaus <noreply@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
EMAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.smtp.EmailBackend")

# API.
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rathaus.accounts.authentication.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticatedOrReadOnly"],
    "DEFAULT_PAGINATION_CLASS": "rathaus.api.pagination.PageNumberPagination",
    "PAGE_SIZE": 25,
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "EXCEPTION_HANDLER": "rathaus.api.errors.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_VERSIONING_CLASS": None,
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "rathaus API",
    "DESCRIPTION": "The REST API of rathaus, the digital city hall. Every error has the shape "
    '{"error": {"code": ..., "message": ..., "fields": {...}}}.',
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {"DayTypeEnum": "rathaus.traffic.control.timetable.DAY_TYPES"},
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "rathaus.api.schema.add_error_responses",
    ],
}

# Content-Security-Policy: only our own origin; no inline scripts or styles.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
        "base-uri": ["'self'"],
        "object-src": ["'none'"],
    }
}
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_AGE = env_int("SESSION_COOKIE_AGE", 8 * 60 * 60)
CSRF_FAILURE_VIEW = "rathaus.core.views.csrf_failure"

# Structured JSON logs, one line per event, with the request id.
LOG_LEVEL = env_str("LOG_LEVEL", "INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "rathaus.core.logging.RequestIdFilter"}},
    "formatters": {
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
        }
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "json",
            "filters": ["request_id"],
        }
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.server": {"level": "WARNING"},
        # Request errors are logged once by our own middleware, with the request id.
        "django.request": {"level": "ERROR"},
    },
}

AUTHENTICATION_BACKENDS = [
    "rathaus.accounts.authentication.MunicipalityEmailBackend",
    # Permissions come from roles granted per org unit (organisation app).
    "rathaus.organisation.backends.RolePermissionBackend",
]

# Notifications: text messages go through a gateway; the test gateway only stores them.
RATHAUS_SMS_GATEWAY = env_str(
    "RATHAUS_SMS_GATEWAY", "rathaus.notifications.channels.TestSmsGateway"
)
RATHAUS_SMS_GATEWAY_URL = env_str("RATHAUS_SMS_GATEWAY_URL")
RATHAUS_SMS_GATEWAY_TOKEN = env_str("RATHAUS_SMS_GATEWAY_TOKEN")
RATHAUS_SMS_GATEWAY_TIMEOUT = env_int("RATHAUS_SMS_GATEWAY_TIMEOUT", 10)
RATHAUS_NOTIFICATION_RETENTION_DAYS = env_int("RATHAUS_NOTIFICATION_RETENTION_DAYS", 365)

# OpenID Connect sign-in (rathaus.oidc): name -> provider, as JSON; see docs/adr/0009.
RATHAUS_OIDC_PROVIDERS = env_json("RATHAUS_OIDC_PROVIDERS", {})
# The development identity provider at /dev-idp/. TEST ONLY: anyone can sign in at "high".
RATHAUS_DEV_IDP = env_bool("RATHAUS_DEV_IDP", default=True)

# Workflow: whether deploying a model that names an unregistered service-task handler is an
# error (else a warning; running into it makes an incident either way).
RATHAUS_WORKFLOW_STRICT_HANDLERS = env_bool("RATHAUS_WORKFLOW_STRICT_HANDLERS", default=False)

# Online applications: the payment provider (ePayBL or a card provider plugs in here; the
# test provider only pretends) and the scanner uploaded documents pass through.
RATHAUS_PAYMENT_PROVIDER = env_str(
    "RATHAUS_PAYMENT_PROVIDER", "rathaus.applications.payments.TestPaymentProvider"
)
RATHAUS_DOCUMENT_SCANNER = env_str(
    "RATHAUS_DOCUMENT_SCANNER", "rathaus.applications.documents.BasicScanner"
)

# E-Rechnung: where the official KoSIT validator configuration zips are (one per release,
# checked against pinned SHA-256s); `rathaus einvoice artefacts --download` fetches them.
RATHAUS_EINVOICE_ARTEFACTS_DIR = env_path(
    "RATHAUS_EINVOICE_ARTEFACTS_DIR", RATHAUS_SHARED_DIR / "data" / "xrechnung"
)
# Bürgerbüro: an optional bot check for bookings (a dotted class path; none by default).
RATHAUS_BUERGERBUERO_CHALLENGE = env_str("RATHAUS_BUERGERBUERO_CHALLENGE", "")

# Map tiles of the parking and charging maps (an empty URL switches the maps off).
RATHAUS_MAP_TILE_URL = env_str(
    "RATHAUS_MAP_TILE_URL", "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
)
RATHAUS_MAP_TILE_ATTRIBUTION = env_str(
    "RATHAUS_MAP_TILE_ATTRIBUTION", "© OpenStreetMap contributors"
)

# Catalogue search: the engine behind the search box, by default the service assistant's
# (the keyword engine, rathaus.catalog.search.KeywordSearch, needs no index in memory).
RATHAUS_CATALOG_SEARCH_ENGINE = env_str(
    "RATHAUS_CATALOG_SEARCH_ENGINE", "rathaus.assistant.search.AssistantSearch"
)
