"""Which files may travel through the mailbox, decided by their content, not their name.

Accepted: PDF, PNG, JPEG and plain text (UTF-8), at most ``MAX_FILE_BYTES`` each,
``MAX_TOTAL_BYTES`` and ``MAX_FILES`` per message. Refused with a reason: programs
(Windows, Linux, scripts), archives, HTML, SVG and other markup, PDFs with scripts or
launch actions, files whose name claims another type than their content, empty files.
"""

import hashlib
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

from django.core.files.uploadedfile import UploadedFile
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

MAX_FILE_BYTES = 10 * 1024 * 1024
MAX_TOTAL_BYTES = 20 * 1024 * 1024
MAX_FILES = 10
NAME_MAX_CHARS = 150
CHUNK = 64 * 1024

PDF, PNG, JPEG, TEXT = "application/pdf", "image/png", "image/jpeg", "text/plain"
EXTENSIONS = {PDF: {"pdf"}, PNG: {"png"}, JPEG: {"jpg", "jpeg"}, TEXT: {"txt"}}
DEFAULT_EXTENSION = {PDF: "pdf", PNG: "png", JPEG: "jpg", TEXT: "txt"}

# First bytes of what is refused outright, and why.
_PROGRAM_SIGNATURES = (b"MZ", b"\x7fELF", b"#!", b"\xca\xfe\xba\xbe", b"\xcf\xfa\xed\xfe")
_ARCHIVE_SIGNATURES = (b"PK\x03\x04", b"Rar!", b"7z\xbc\xaf", b"\x1f\x8b")
# Active content inside a PDF: scripts and actions that start programs.
_PDF_ACTIVE = re.compile(rb"/(JavaScript|JS|Launch)\b")
_MARKUP = re.compile(rb"<\s*(!doctype|html|head|body|script|svg|iframe|object|\?xml)\b", re.I)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")
_NAME_UNSAFE = re.compile(r'[\x00-\x1f\x7f/\\:*?"<>|]')


class AttachmentRefused(Exception):
    """One file that may not be attached, with the reason for people."""

    def __init__(self, reason: str | Promise) -> None:
        super().__init__(str(reason))
        self.reason = reason


@dataclass(frozen=True)
class CheckedFile:
    upload: UploadedFile
    name: str
    content_type: str
    size: int
    sha256: str


def clean_name(raw: str) -> str:
    """A file name as the uploader gave it, without folders or control characters."""
    name = unicodedata.normalize("NFC", raw or "").replace("\\", "/").rsplit("/", 1)[-1]
    return _NAME_UNSAFE.sub("_", name).strip(" .")[:200]


def safe_name(raw: str, content_type: str) -> str:
    """The original name, cleaned, at most 150 characters, with an extension that fits
    the content."""
    name = clean_name(raw)
    stem, dot, extension = name.rpartition(".")
    if not dot or extension.lower() not in EXTENSIONS[content_type]:
        stem, extension = name, DEFAULT_EXTENSION[content_type]
    stem = stem[: NAME_MAX_CHARS - len(extension) - 1] or "anhang"
    return f"{stem}.{extension}"


def _sniff(content: bytes) -> str:
    """The content type by the file's bytes, or AttachmentRefused."""
    head = content[:16]
    if head.startswith(b"%PDF-"):
        if _PDF_ACTIVE.search(content):
            raise AttachmentRefused(_("the PDF contains scripts or actions that start programs"))
        return PDF
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if head.startswith(b"\xff\xd8\xff"):
        return JPEG
    if head.startswith(_PROGRAM_SIGNATURES):
        raise AttachmentRefused(_("it is a program, which is not accepted"))
    if head.startswith(_ARCHIVE_SIGNATURES):
        raise AttachmentRefused(_("it is an archive, which is not accepted"))
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError:
        raise AttachmentRefused(
            _("only PDF, PNG, JPEG and plain text files are accepted")
        ) from None
    if _MARKUP.search(content) or text.lstrip("\ufeff \t\r\n").startswith("<"):
        raise AttachmentRefused(_("HTML, SVG and other markup are not accepted"))
    if _CONTROL.search(text):
        raise AttachmentRefused(_("only PDF, PNG, JPEG and plain text files are accepted"))
    return TEXT


def _read_all(upload: UploadedFile) -> tuple[bytes, str, int]:
    """The content (files are at most 10 MB here), its SHA-256 and its length."""
    upload.seek(0)
    digest = hashlib.sha256()
    parts = []
    for chunk in upload.chunks(CHUNK):
        digest.update(chunk)
        parts.append(chunk)
    upload.seek(0)
    content = b"".join(parts)
    return content, digest.hexdigest(), len(content)


def check_file(upload: UploadedFile) -> CheckedFile:
    """Check one upload; raise AttachmentRefused with the reason."""
    declared = upload.size or 0
    if declared > MAX_FILE_BYTES:
        raise AttachmentRefused(_("it is larger than 10 MB"))
    content, sha256, size = _read_all(upload)
    if size > MAX_FILE_BYTES:
        raise AttachmentRefused(_("it is larger than 10 MB"))
    if size == 0:
        raise AttachmentRefused(_("it is empty"))
    content_type = _sniff(content)
    # A name that claims another type than the content is a trick or a mistake: refuse it.
    _stem, dot, extension = (upload.name or "").rpartition(".")
    extension = extension.lower() if dot else ""
    if extension and extension not in EXTENSIONS[content_type]:
        raise AttachmentRefused(
            _("its name ends in .%(extension)s, but it is a %(kind)s file")
            % {"extension": extension[:10], "kind": DEFAULT_EXTENSION[content_type].upper()}
        )
    return CheckedFile(
        upload=upload,
        name=safe_name(upload.name or "", content_type),
        content_type=content_type,
        size=size,
        sha256=sha256,
    )


def check_files(uploads: Iterable[UploadedFile]) -> tuple[list[CheckedFile], list[str]]:
    """Check every upload and the limits per message; returns the files and the reasons
    for refusal (one per refused file, naming it), empty when everything is fine."""
    uploads = list(uploads)
    errors: list[str] = []
    if len(uploads) > MAX_FILES:
        errors.append(
            str(
                _("At most %(count)d files can be attached to one message; you chose %(chosen)d.")
                % {"count": MAX_FILES, "chosen": len(uploads)}
            )
        )
        return [], errors
    checked: list[CheckedFile] = []
    for upload in uploads:
        shown = clean_name(upload.name or "") or "?"
        try:
            checked.append(check_file(upload))
        except AttachmentRefused as refused:
            errors.append(
                str(
                    _("“%(name)s” cannot be attached: %(reason)s.")
                    % {"name": shown, "reason": refused.reason}
                )
            )
    if not errors and sum(file.size for file in checked) > MAX_TOTAL_BYTES:
        errors.append(str(_("All files of one message together may have at most 20 MB.")))
    return checked, errors
