"""The process-wide validator, configured from the settings and the environment.

The release zips are read from ``RATHAUS_EINVOICE_ARTEFACTS_DIR`` (a Django setting or
environment variable; default ``<RATHAUS_SHARED_DIR>/data/xrechnung`` for development
and tests) and unpacked into ``<VAR_DIR>/einvoice/releases``.
"""

from __future__ import annotations

import threading
from pathlib import Path

from django.conf import settings

from rathaus.einvoice.kosit import KNOWN_RELEASES, ArtefactError, Release, Validator
from rathaus.einvoice.kosit.artefacts import release_unpacked

_lock = threading.Lock()
_validator: Validator | None = None


def artefacts_dir() -> Path:
    return Path(settings.RATHAUS_EINVOICE_ARTEFACTS_DIR)


def cache_dir() -> Path:
    return Path(settings.VAR_DIR) / "einvoice" / "releases"


def installed_releases(
    releases: tuple[Release, ...] = KNOWN_RELEASES,
) -> list[tuple[Release, Path]]:
    """Every known release whose zip is present, unpacked; skips absent ones.

    Raises ``ArtefactError`` (with installation instructions) when none is present, and
    for a present zip that does not match its pin.
    """
    found: list[tuple[Release, Path]] = []
    missing: list[str] = []
    for release in releases:
        try:
            found.append(
                (
                    release,
                    release_unpacked(release, source_dir=artefacts_dir(), cache_dir=cache_dir()),
                )
            )
        except ArtefactError as error:
            if (artefacts_dir() / release.filename).is_file():
                raise
            missing.append(str(error))
    if not found:
        raise ArtefactError(" ".join(missing))
    return found


def validator() -> Validator:
    """The validator of this process (stylesheets compiled once, on first use)."""
    global _validator
    with _lock:
        if _validator is None:
            _validator = Validator(installed_releases())
        return _validator


def validator_reset() -> None:
    """Forget the validator (after installing a release; in tests)."""
    global _validator
    with _lock:
        _validator = None
