"""Django-free checks of incoming documents: the Leitweg-ID and ZUGFeRD/Factur-X PDFs."""

from __future__ import annotations

import io
import re

LEITWEG = re.compile(r"^(?P<coarse>\d{2,12})(?:-(?P<fine>[0-9A-Za-z]{1,30}))?-(?P<check>\d{2})$")

#: Names of the embedded invoice in ZUGFeRD 1/2, Factur-X and XRechnung-in-PDF.
EMBEDDED_NAMES = ("factur-x.xml", "zugferd-invoice.xml", "xrechnung.xml", "zugferd_invoice.xml")


class NoInvoiceInPdf(ValueError):
    """A PDF that carries no readable embedded e-invoice."""


def _mod97_number(text: str) -> int:
    # ISO 7064 MOD 97-10: letters count as two-digit numbers A=10 ... Z=35.
    return int("".join(str(int(ch, 36)) for ch in text.upper()))


def leitweg_valid(value: str) -> bool:
    """Syntax and check digits (ISO 7064 MOD 97-10) of a Leitweg-ID."""
    match = LEITWEG.match(value or "")
    if match is None:
        return False
    body = match["coarse"] + (match["fine"] or "") + match["check"]
    return _mod97_number(body) % 97 == 1


def leitweg_check_digits(coarse: str, fine: str = "") -> str:
    """The two check digits for a coarse and fine address (to make IDs for a register)."""
    remainder = _mod97_number(coarse + fine + "00") % 97
    return f"{98 - remainder:02d}"


def pdf_is(data: bytes) -> bool:
    return data[:1024].lstrip().startswith(b"%PDF-")


def pdf_invoice_extract(data: bytes, *, max_bytes: int) -> tuple[str, bytes]:
    """The embedded CII invoice of a ZUGFeRD/Factur-X PDF: ``(file name, xml bytes)``.

    Reads only the embedded-files name tree (no rendering, no JavaScript); an embedded
    file larger than ``max_bytes`` is refused before it is decompressed in full.
    """
    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        attachments = reader.attachments
        names = {name.lower(): name for name in attachments}
    except (PyPdfError, ValueError, KeyError, TypeError, AttributeError, RecursionError) as error:
        raise NoInvoiceInPdf(f"the PDF cannot be read: {error}") from error
    for wanted in EMBEDDED_NAMES:
        if wanted in names:
            name = names[wanted]
            try:
                content = attachments[name][0]
            except (PyPdfError, ValueError, KeyError, IndexError, TypeError) as error:
                raise NoInvoiceInPdf(f"the embedded {name} cannot be read: {error}") from error
            if len(content) > max_bytes:
                raise NoInvoiceInPdf(f"the embedded {name} is larger than {max_bytes} bytes")
            return name, content
    raise NoInvoiceInPdf(
        "the PDF carries no embedded e-invoice (factur-x.xml or zugferd-invoice.xml)"
    )
