"""Test settings: base.py with overrides only.

The database comes from DATABASE_URL as everywhere (``make test`` runs the suite
once on SQLite and once on PostgreSQL).
"""

import os
import tempfile
from pathlib import Path

os.environ.setdefault("SECRET_KEY", "test-only-secret-key-not-for-production-use-0123456789")
os.environ.setdefault("RATHAUS_VAR_DIR", str(Path(tempfile.gettempdir()) / "rathaus-test-var"))

from rathaus.settings.base import *  # noqa: E402, F403
from rathaus.settings.base import DATABASES  # noqa: E402

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
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
LOGGING = {"version": 1, "disable_existing_loggers": False}
RATHAUS_DEFAULT_TENANT = "musterstadt"
