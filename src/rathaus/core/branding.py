"""Municipal branding that keeps WCAG contrast: colours are checked, not trusted."""

WHITE = "#ffffff"
MIN_TEXT_CONTRAST = 4.5
LOGO_MAX_BYTES = 512 * 1024
# Magic numbers of the image formats we accept; SVG is refused (it can carry scripts).
LOGO_SIGNATURES = {
    b"\x89PNG\r\n\x1a\n": "png",
    b"\xff\xd8\xff": "jpeg",
    b"RIFF": "webp",
}


def _channel(value: int) -> float:
    c = value / 255
    return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4


def relative_luminance(colour: str) -> float:
    """WCAG 2.1 relative luminance of a #rrggbb colour."""
    r, g, b = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
    return 0.2126 * _channel(r) + 0.7152 * _channel(g) + 0.0722 * _channel(b)


def contrast_ratio(first: str, second: str) -> float:
    """WCAG 2.1 contrast ratio, from 1 to 21."""
    light, dark = sorted((relative_luminance(first), relative_luminance(second)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def darken(colour: str, factor: float = 0.7) -> str:
    """A darker shade for hover and the navigation bar."""
    r, g, b = (int(int(colour[i : i + 2], 16) * factor) for i in (1, 3, 5))
    return f"#{r:02x}{g:02x}{b:02x}"


def logo_format(head: bytes) -> str | None:
    """The image format by its first bytes, or None when it is not one we accept."""
    for signature, kind in LOGO_SIGNATURES.items():
        if head.startswith(signature) and (kind != "webp" or head[8:12] == b"WEBP"):
            return kind
    return None
