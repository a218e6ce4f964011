"""The consent texts people agree to, with their versions.

The texts themselves live in templates (``accounts/consent/<purpose>_v<version>.html``)
so that every version ever shown can be reproduced.
"""

from rathaus.accounts.models import ConsentRecord

CURRENT_VERSIONS: dict[str, str] = {
    ConsentRecord.Purpose.TERMS: "1",
    ConsentRecord.Purpose.POSTFACH: "1",
    ConsentRecord.Purpose.SMS: "1",
}


def consent_template(purpose: str, version: str | None = None) -> str:
    return f"accounts/consent/{purpose}_v{version or CURRENT_VERSIONS[purpose]}.html"
