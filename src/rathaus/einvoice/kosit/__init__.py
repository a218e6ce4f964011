"""A Django-free re-implementation of the KoSIT validator's verdict for XRechnung.

It reads the official validator configuration release (``scenarios.xml`` with its XML
Schemas and compiled Schematron stylesheets), picks the scenario by its match expression,
validates the XSD, runs the Schematron stylesheets with saxonche, applies the scenario's
custom levels and accepts if and only if no error remains, exactly as the KoSIT validator's
``default-report.xsl`` decides. See ADR 0020.
"""

from rathaus.einvoice.kosit.artefacts import (
    KNOWN_RELEASES,
    ArtefactError,
    Release,
    release_install,
)
from rathaus.einvoice.kosit.validator import (
    Message,
    ValidationResult,
    Validator,
)

__all__ = [
    "KNOWN_RELEASES",
    "ArtefactError",
    "Message",
    "Release",
    "ValidationResult",
    "Validator",
    "release_install",
]
