"""The official KoSIT validator configuration releases: pinned, checked, unpacked.

A release is the zip the KoSIT publishes on GitHub (itplr-kosit/validator-configuration-
xrechnung). It is never committed: an operator places it in the configured directory, or
``release_install`` downloads it from the official address. Either way the SHA-256 must
match the pin below before anything in it is used. Releases are unpacked into a cache
directory, one folder per release, so several live side by side.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import urllib.request
import zipfile
from dataclasses import dataclass
from datetime import date
from pathlib import Path, PurePosixPath


class ArtefactError(RuntimeError):
    """A release is missing, damaged or does not match its pinned checksum."""


@dataclass(frozen=True)
class Release:
    """One validator configuration release.

    ``valid_from`` is the first invoice date the release applies to: when two installed
    releases both have a scenario for an invoice, the newest one whose ``valid_from`` is
    not after the invoice's issue date is used, so older invoices keep their rules.
    """

    key: str
    filename: str
    sha256: str
    url: str
    valid_from: date


KNOWN_RELEASES: tuple[Release, ...] = (
    Release(
        key="xrechnung-3.0.2-2026-01-31",
        filename="xrechnung-3.0.2-validator-configuration-2026-01-31.zip",
        sha256="6a5a5911a421b25fbc423f62f93f894df7b236f5d73ca4f84bb222a945082704",
        url=(
            "https://github.com/itplr-kosit/validator-configuration-xrechnung/releases/"
            "download/release-2026-01-31/xrechnung-3.0.2-validator-configuration-2026-01-31.zip"
        ),
        valid_from=date(2024, 2, 1),
    ),
)

#: Largest release zip accepted (the 2026 release is 1 MB packed, 5 MB unpacked).
MAX_ZIP_BYTES = 100 * 1024 * 1024
MAX_UNPACKED_BYTES = 200 * 1024 * 1024


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _missing_message(release: Release, source_dir: Path) -> str:
    return (
        f"The XRechnung validator configuration {release.filename} is not installed. "
        f"Place the official release zip (SHA-256 {release.sha256}) in {source_dir} "
        "(setting RATHAUS_EINVOICE_ARTEFACTS_DIR), or run "
        "'rathaus einvoice artefacts --download' to fetch it from "
        f"{release.url}."
    )


def release_unpacked(release: Release, *, source_dir: Path, cache_dir: Path) -> Path:
    """The folder of the unpacked release; unpack it from ``source_dir`` if needed.

    Raises ``ArtefactError`` with instructions for the operator when the zip is missing,
    damaged or not the pinned one.
    """
    target = cache_dir / release.key
    marker = target / ".sha256"
    if marker.is_file() and marker.read_text().strip() == release.sha256:
        return target
    zip_path = source_dir / release.filename
    if not zip_path.is_file():
        raise ArtefactError(_missing_message(release, source_dir))
    if zip_path.stat().st_size > MAX_ZIP_BYTES:
        raise ArtefactError(f"{zip_path} is larger than any known release")
    actual = _sha256(zip_path)
    if actual != release.sha256:
        raise ArtefactError(
            f"{zip_path} has SHA-256 {actual}, expected {release.sha256}: "
            "not the official release (damaged or replaced). Replace it with the official zip."
        )
    cache_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{release.key}-", dir=cache_dir))
    try:
        _extract(zip_path, staging)
        if not (staging / "scenarios.xml").is_file():
            raise ArtefactError(f"{zip_path} has no scenarios.xml")
        (staging / ".sha256").write_text(release.sha256)
        if target.exists():
            shutil.rmtree(target)
        # Atomic on one file system: a concurrent reader sees the old or the new folder.
        os.replace(staging, target)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    return target


def _extract(zip_path: Path, target: Path) -> None:
    try:
        with zipfile.ZipFile(zip_path) as archive:
            total = 0
            for info in archive.infolist():
                name = PurePosixPath(info.filename)
                if name.is_absolute() or ".." in name.parts:
                    raise ArtefactError(f"{zip_path} contains the unsafe path {info.filename}")
                total += info.file_size
                if total > MAX_UNPACKED_BYTES:
                    raise ArtefactError(f"{zip_path} unpacks to more than any known release")
            archive.extractall(target)
    except zipfile.BadZipFile as error:
        raise ArtefactError(f"{zip_path} is not a readable zip: {error}") from error


def release_install(release: Release, *, source_dir: Path, timeout: float = 60.0) -> Path:
    """Download ``release`` from its official address into ``source_dir`` and check the pin.

    The file is written under a temporary name and only renamed into place once its SHA-256
    matches, so a broken download never looks installed.
    """
    source_dir.mkdir(parents=True, exist_ok=True)
    target = source_dir / release.filename
    if target.is_file() and _sha256(target) == release.sha256:
        return target
    handle, temporary = tempfile.mkstemp(prefix=".download-", dir=source_dir)
    try:
        with (
            os.fdopen(handle, "wb") as out,
            urllib.request.urlopen(  # noqa: S310 (fixed https URL)
                release.url, timeout=timeout
            ) as response,
        ):
            size = 0
            while chunk := response.read(1 << 16):
                size += len(chunk)
                if size > MAX_ZIP_BYTES:
                    raise ArtefactError(f"{release.url} is larger than any known release")
                out.write(chunk)
        actual = _sha256(Path(temporary))
        if actual != release.sha256:
            raise ArtefactError(
                f"the download from {release.url} has SHA-256 {actual}, expected {release.sha256}"
            )
        os.replace(temporary, target)
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)
    return target
