"""Hardened XML parsing: no DTD, no entities, no network, a size limit before parsing."""

from __future__ import annotations

from lxml import etree


class UnsafeXml(ValueError):
    """The bytes are not acceptable XML; ``code`` says why (a fixed report code)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


#: The default limit of one invoice document (the federal portals accept up to 15 MB).
DEFAULT_MAX_BYTES = 15 * 1024 * 1024


#: How far into the document a DOCTYPE is looked for before parsing (it must precede the
#: root element; one hidden further behind a long prolog is caught after parsing).
PROLOG_SCAN = 64 * 1024
_DOCTYPE_MARKERS = tuple(
    "<!DOCTYPE".encode(encoding) for encoding in ("utf-8", "utf-16-le", "utf-16-be")
)


def _parser() -> etree.XMLParser:
    # A new parser per call: lxml parsers are not thread-safe.
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_comments=False,
        collect_ids=False,
    )


def parse(data: bytes, *, max_bytes: int = DEFAULT_MAX_BYTES) -> etree._ElementTree:
    """Parse ``data`` or raise ``UnsafeXml``.

    Refuses documents larger than ``max_bytes`` (before any parsing), documents with a
    document type declaration (internal subsets carry entity bombs and external ones
    reach out of the machine; no e-invoice needs one) and anything not well-formed.
    """
    if len(data) > max_bytes:
        raise UnsafeXml("SIZE", f"the document has {len(data)} bytes, the limit is {max_bytes}")
    if not data.strip():
        raise UnsafeXml("XML-SYNTAX", "the document is empty")
    # Refuse a DOCTYPE before libxml2 sees it: it may try to load an external subset.
    head = data[:PROLOG_SCAN]
    if any(marker in head for marker in _DOCTYPE_MARKERS):
        raise UnsafeXml("XML-DTD", "documents with a DOCTYPE declaration are refused")
    try:
        tree = etree.ElementTree(etree.fromstring(data, _parser()))
    except etree.XMLSyntaxError as error:
        raise UnsafeXml("XML-SYNTAX", f"not well-formed XML: {error}") from error
    except (ValueError, LookupError) as error:  # unknown encodings, NUL bytes
        raise UnsafeXml("XML-SYNTAX", f"not readable as XML: {error}") from error
    info = tree.docinfo
    if info.doctype or info.internalDTD is not None or info.externalDTD is not None:
        raise UnsafeXml("XML-DTD", "documents with a DOCTYPE declaration are refused")
    return tree


def parse_trusted_file(path: str) -> etree._ElementTree:
    """Parse one of the rule artefacts (XSD, scenarios.xml): still no network or entities."""
    return etree.parse(path, _parser())
