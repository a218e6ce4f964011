"""Starting texts for a new municipality's legal pages, to be completed by its staff."""

from dataclasses import dataclass

from django.template.loader import render_to_string

from rathaus.core.models import Municipality

# The arbitration body named in the statement (§ 16 BGG); states have their own for
# municipal sites and the municipality sets it when completing the statement.
DEFAULT_ARBITRATION_NAME = "Schlichtungsstelle nach dem Behindertengleichstellungsgesetz"
DEFAULT_ARBITRATION_URL = "https://www.schlichtungsstelle-bgg.de/"


@dataclass(frozen=True)
class PageText:
    title_de: str
    title_en: str
    body_de: str
    body_en: str


def default_text(*, kind: str, municipality: Municipality) -> PageText:
    context = {"municipality": municipality}
    titles = {
        "imprint": ("Impressum", "Imprint"),
        "privacy": ("Datenschutzerklärung", "Privacy notice"),
        "accessibility": ("Erklärung zur Barrierefreiheit", "Accessibility statement"),
    }
    title_de, title_en = titles[kind]
    return PageText(
        title_de=title_de,
        title_en=title_en,
        body_de=render_to_string(f"legal/defaults/{kind}_de.html", context),
        body_en=render_to_string(f"legal/defaults/{kind}_en.html", context),
    )
