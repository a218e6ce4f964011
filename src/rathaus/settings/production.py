"""Production settings: everything from base.py, plus what ``check --deploy`` demands.

SECRET_KEY, DATABASE_URL, ALLOWED_HOSTS and REDIS_URL must come from the environment.
"""

from django.core.exceptions import ImproperlyConfigured

from rathaus.settings.base import *  # noqa: F403
from rathaus.settings.base import DATABASES, REDIS_URL
from rathaus.settings.env import env_bool, env_int, env_str

if not env_str("SECRET_KEY"):
    raise ImproperlyConfigured("SECRET_KEY must be set in production")
if not env_str("DATABASE_URL"):
    raise ImproperlyConfigured("DATABASE_URL must be set in production (postgres://...)")
if not env_str("ALLOWED_HOSTS"):
    raise ImproperlyConfigured("ALLOWED_HOSTS must be set in production")
if not REDIS_URL and not env_bool("RATHAUS_ALLOW_NO_REDIS", default=False):
    raise ImproperlyConfigured(
        "REDIS_URL must be set in production (cache and sessions); "
        "set RATHAUS_ALLOW_NO_REDIS=true for a single-machine installation"
    )

DEBUG = False

SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", default=True)
# The load balancer terminates TLS and says so in X-Forwarded-Proto.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 63072000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
# Preload is on by default (two years, subdomains included); a data centre that still
# serves plain HTTP on a subdomain sets SECURE_HSTS_PRELOAD=false.
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", default=True)
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
LANGUAGE_COOKIE_SECURE = True
SESSION_COOKIE_NAME = "__Host-rathaus_session"
CSRF_COOKIE_NAME = "__Host-rathaus_csrf"

if DATABASES["default"]["ENGINE"] != "django.db.backends.sqlite3":
    DATABASES["default"]["CONN_MAX_AGE"] = env_int("DB_CONN_MAX_AGE", 60)

# No text messages unless a provider is configured (HttpSmsGateway + URL + token).
RATHAUS_SMS_GATEWAY = env_str("RATHAUS_SMS_GATEWAY", "")
# The development identity provider never runs in production.
RATHAUS_DEV_IDP = False
# No online payment unless a real provider is configured (fees are then owed).
RATHAUS_PAYMENT_PROVIDER = env_str("RATHAUS_PAYMENT_PROVIDER", "")
