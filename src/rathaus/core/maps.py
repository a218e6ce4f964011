"""Map tiles for the pages with a map (parking, charging): one configured tile source.

Tiles are the one thing such a page loads from elsewhere; ``map_tiles_allow`` adds just
the tile server's origin to the page's Content-Security-Policy. An empty
``RATHAUS_MAP_TILE_URL`` switches the maps off (the pages keep their accessible lists).
Note that a public tile server sees the visitors' IP addresses: run or rent one for
production (docs/deployment.md).
"""

from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings
from django.http import HttpResponse


@dataclass(frozen=True)
class MapTiles:
    url: str
    attribution: str

    @property
    def origin(self) -> str:
        """``scheme://host`` of the tile server ("*.host" for ``{s}`` subdomains)."""
        parts = urlsplit(self.url.replace("{s}", "a"))
        host = parts.netloc
        if "{s}" in self.url and "." in host:
            host = "*." + host.split(".", 1)[1]
        return f"{parts.scheme}://{host}" if parts.scheme in {"http", "https"} and host else ""


def map_tiles() -> MapTiles:
    """The configured tile source (``RATHAUS_MAP_TILE_URL``, ``RATHAUS_MAP_TILE_ATTRIBUTION``)."""
    return MapTiles(settings.RATHAUS_MAP_TILE_URL, settings.RATHAUS_MAP_TILE_ATTRIBUTION)


def map_tiles_allow(response: HttpResponse, tiles: MapTiles) -> HttpResponse:
    """Let ``response`` load images from the tile server, and nothing else from elsewhere."""
    if tiles.origin:
        response._csp_update = {"img-src": [tiles.origin]}  # type: ignore[attr-defined]
    return response
