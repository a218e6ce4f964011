"""Test settings: base.py with overrides only.

The database comes from DATABASE_URL as everywhere (``make test`` runs the suite
once on SQLite and once on PostgreSQL).
"""

import os
import tempfile
from pathlib import Path

os.environ.setdefault("SECRET_KEY", "test-only-secret-key-not-for-production-use-0123456789")
os.environ.setdefault("RATHAUS_VAR_DIR", str(Path(tempfile.gettempdir()) / "rathaus-test-var"))

from rathaus.settings.base import *  # noqa: F403
from rathaus.settings.base import DATABASES, STATIC_ROOT

if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # An in-memory database per test run; WAL pragmas don't apply to it.
    DATABASES["default"]["NAME"] = ":memory:"
    DATABASES["default"]["TEST"] = {"NAME": ":memory:"}
    DATABASES["default"]["OPTIONS"] = {"transaction_mode": "IMMEDIATE"}

# Fast hashing: the hasher itself is Django's business, not ours.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.InMemoryStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# The live server of the browser tests serves static files through the finders.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
LOGGING = {"version": 1, "disable_existing_loggers": False}
RATHAUS_DEFAULT_TENANT = "musterstadt"
# Django's test client calls itself "testserver".
RATHAUS_DEFAULT_TENANT_HOSTS = ["localhost", "127.0.0.1", "testserver"]
# The RQ backend is exercised against a real Redis, in a database of its own.
RQ_QUEUES = {
    "default": {"URL": os.environ.get("RATHAUS_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")}
}
RATHAUS_SMS_GATEWAY = "rathaus.notifications.channels.TestSmsGateway"
