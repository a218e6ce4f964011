"""Which files an application accepts, decided by their content, and the scanning hook.

Accepted: PDF, PNG, JPEG and TIFF, at most ``MAX_FILE_BYTES`` each, ``MAX_TOTAL_BYTES``
and ``MAX_FILES`` per application. The type comes from the first bytes (magic numbers),
never from the name or the browser's claim; a name that claims another type is refused,
as are programs, archives (office documents are ZIP archives that can carry macros),
markup and PDFs with scripts or launch actions. Every accepted file then goes through the
``DocumentScanner`` named by ``RATHAUS_DOCUMENT_SCANNER``: the default checks type and
size only; ``EicarTestScanner`` flags the EICAR test string as a virus, so the refusal
path is tested without a real virus scanner. A ClamAV or ICAP scanner plugs in the same
way (``scan(content, name) -> ScanResult``).
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.utils.functional import Promise
from django.utils.module_loading import import_string
from django.utils.translation import gettext_lazy as _

MAX_FILE_BYTES = 10 * 1024 * 1024
MAX_TOTAL_BYTES = 50 * 1024 * 1024
MAX_FILES = 20
NAME_MAX_CHARS = 150
CHUNK = 64 * 1024

PDF, PNG, JPEG, TIFF = "application/pdf", "image/png", "image/jpeg", "image/tiff"
EXTENSIONS = {PDF: {"pdf"}, PNG: {"png"}, JPEG: {"jpg", "jpeg"}, TIFF: {"tif", "tiff"}}
DEFAULT_EXTENSION = {PDF: "pdf", PNG: "png", JPEG: "jpg", TIFF: "tif"}
ALLOWED_TEXT = "PDF, PNG, JPEG, TIFF"

_PROGRAM = (b"MZ", b"\x7fELF", b"#!", b"\xca\xfe\xba\xbe", b"\xcf\xfa\xed\xfe", b"\xfe\xed\xfa")
_ARCHIVE = (b"PK\x03\x04", b"Rar!", b"7z\xbc\xaf", b"\x1f\x8b", b"BZh", b"\xfd7zXZ")
_PDF_ACTIVE = re.compile(rb"/(JavaScript|JS|Launch|EmbeddedFile)\b")
_NAME_UNSAFE = re.compile(r'[\x00-\x1f\x7f/\\:*?"<>|]')
DEFAULT_SCANNER = "rathaus.applications.documents.BasicScanner"


class DocumentRefused(Exception):
    """A file that is not accepted, with the reason for people."""

    def __init__(self, reason: str | Promise, *, code: str = "refused") -> None:
        super().__init__(str(reason))
        self.reason = reason
        self.code = code


@dataclass(frozen=True)
class ScanResult:
    clean: bool
    status: str  # "clean" (scanned) or "not_scanned" (type and size checked only)
    detail: str = ""


class DocumentScanner(Protocol):
    """A virus scanner: looks at the content of an accepted file."""

    def scan(self, *, content: bytes, name: str) -> ScanResult: ...


class BasicScanner:
    """The default: type and size were checked before; no virus signatures."""

    def scan(self, *, content: bytes, name: str) -> ScanResult:
        return ScanResult(clean=True, status="not_scanned")


EICAR = rb"X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"


class EicarTestScanner:
    """For tests and demonstrations: reports the EICAR test string as a virus."""

    __test__ = False  # not a pytest test class

    def scan(self, *, content: bytes, name: str) -> ScanResult:
        if EICAR in content:
            return ScanResult(clean=False, status="infected", detail="Eicar-Test-Signature")
        return ScanResult(clean=True, status="clean")


def scanner() -> DocumentScanner:
    """The scanner configured in ``RATHAUS_DOCUMENT_SCANNER`` (dotted path of a class)."""
    path = getattr(settings, "RATHAUS_DOCUMENT_SCANNER", "") or DEFAULT_SCANNER
    scanner_class = import_string(path)
    instance: DocumentScanner = scanner_class()
    return instance


@dataclass(frozen=True)
class CheckedDocument:
    upload: UploadedFile
    name: str
    content_type: str
    size: int
    sha256: str
    scan: ScanResult


def clean_name(raw: str) -> str:
    """The uploader's file name without folders or control characters."""
    name = unicodedata.normalize("NFC", raw or "").replace("\\", "/").rsplit("/", 1)[-1]
    return _NAME_UNSAFE.sub("_", name).strip(" .")[:200]


def safe_name(raw: str, content_type: str) -> str:
    """The cleaned name, at most 150 characters, with an extension that fits the content."""
    name = clean_name(raw)
    stem, dot, extension = name.rpartition(".")
    if not dot or extension.lower() not in EXTENSIONS[content_type]:
        stem, extension = name, DEFAULT_EXTENSION[content_type]
    stem = stem[: NAME_MAX_CHARS - len(extension) - 1] or "dokument"
    return f"{stem}.{extension}"


def sniff(content: bytes) -> str:
    """The content type by the file's first bytes, or ``DocumentRefused``."""
    head = content[:16]
    if head.startswith(b"%PDF-"):
        if _PDF_ACTIVE.search(content):
            raise DocumentRefused(
                _("the PDF contains scripts, embedded files or actions that start programs"),
                code="active_content",
            )
        return PDF
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if head.startswith(b"\xff\xd8\xff"):
        return JPEG
    if head.startswith((b"II*\x00", b"MM\x00*")):
        return TIFF
    if head.startswith(_PROGRAM):
        raise DocumentRefused(_("it is a program, which is not accepted"), code="program")
    if head.startswith(_ARCHIVE):
        raise DocumentRefused(
            _("it is an archive or office document, which is not accepted"), code="archive"
        )
    raise DocumentRefused(
        _("only %(types)s files are accepted") % {"types": ALLOWED_TEXT}, code="type"
    )


def _read(upload: UploadedFile) -> bytes:
    upload.seek(0)
    content = b"".join(upload.chunks(CHUNK))
    upload.seek(0)
    return content


def document_check(upload: UploadedFile) -> CheckedDocument:
    """Check one upload (size, type by content, name, scan); raise ``DocumentRefused``."""
    if (upload.size or 0) > MAX_FILE_BYTES:
        raise DocumentRefused(_("it is larger than 10 MB"), code="too_large")
    content = _read(upload)
    if len(content) > MAX_FILE_BYTES:
        raise DocumentRefused(_("it is larger than 10 MB"), code="too_large")
    if not content:
        raise DocumentRefused(_("it is empty"), code="empty")
    content_type = sniff(content)
    _stem, dot, extension = (upload.name or "").rpartition(".")
    extension = extension.lower() if dot else ""
    if extension and extension not in EXTENSIONS[content_type]:
        raise DocumentRefused(
            _("its name ends in .%(extension)s, but it is a %(kind)s file")
            % {"extension": extension[:10], "kind": DEFAULT_EXTENSION[content_type].upper()},
            code="name_mismatch",
        )
    result = scanner().scan(content=content, name=clean_name(upload.name or ""))
    if not result.clean:
        raise DocumentRefused(
            _("the virus scanner found %(finding)s in it")
            % {"finding": result.detail or _("malware")},
            code="infected",
        )
    return CheckedDocument(
        upload=upload,
        name=safe_name(upload.name or "", content_type),
        content_type=content_type,
        size=len(content),
        sha256=hashlib.sha256(content).hexdigest(),
        scan=result,
    )


@dataclass
class CheckOutcome:
    accepted: list[CheckedDocument]
    # (shown name, reason text, code) per refused file
    refused: list[tuple[str, str, str]]
    limit_error: str = ""


def documents_check(
    uploads: Sequence[UploadedFile], *, stored_count: int, stored_bytes: int
) -> CheckOutcome:
    """Check uploads against the per-file rules and the limits per application (counting
    what the application already holds). Nothing is accepted when a limit is exceeded."""
    outcome = CheckOutcome(accepted=[], refused=[])
    if stored_count + len(uploads) > MAX_FILES:
        outcome.limit_error = str(
            _("An application can have at most %(count)d documents; it has %(stored)d.")
            % {"count": MAX_FILES, "stored": stored_count}
        )
        return outcome
    for upload in uploads:
        shown = clean_name(upload.name or "") or "?"
        try:
            outcome.accepted.append(document_check(upload))
        except DocumentRefused as refused:
            outcome.refused.append(
                (
                    shown,
                    str(
                        _("“%(name)s” was not accepted: %(reason)s.")
                        % {"name": shown, "reason": refused.reason}
                    ),
                    refused.code,
                )
            )
    if stored_bytes + sum(d.size for d in outcome.accepted) > MAX_TOTAL_BYTES:
        outcome.limit_error = str(
            _("All documents of an application together may have at most 50 MB.")
        )
        outcome.accepted = []
    return outcome
