"""HTML from editors and imports is sanitised once, when it is stored."""

import nh3

ALLOWED_TAGS = {
    "a",
    "abbr",
    "b",
    "blockquote",
    "br",
    "code",
    "em",
    "h2",
    "h3",
    "h4",
    "i",
    "li",
    "ol",
    "p",
    "strong",
    "ul",
    "dl",
    "dt",
    "dd",
    "table",
    "thead",
    "tbody",
    "tr",
    "th",
    "td",
    "caption",
}
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title", "lang"},
    "abbr": {"title"},
    "th": {"scope"},
    "*": {"lang"},
}


def clean_html(value: str) -> str:
    """Keep structure and links; drop scripts, styles, event handlers and unknown tags."""
    return nh3.clean(
        value,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes={"http", "https", "mailto", "tel"},
        link_rel="noopener noreferrer",
    )
