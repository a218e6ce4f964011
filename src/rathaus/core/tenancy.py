"""Which municipality a request belongs to.

Resolution order: a mapped domain (``MunicipalityDomain``), then a subdomain of
``RATHAUS_BASE_DOMAIN`` (``musterstadt.rathaus.example``), then, for hosts that name no
municipality (development, loopback), the ``RATHAUS_DEFAULT_TENANT`` setting.
Resolutions are cached briefly (the municipality row itself, so a warm request costs
no query); a change of domains or of the row takes effect within a minute.
"""

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest

from rathaus.core.models import Municipality, MunicipalityDomain

_CACHE_SECONDS = 60
_MISSING = 0


def _cache_key(host: str) -> str:
    return f"tenant:host:{host}"


def municipality_for_host(host: str) -> Municipality | None:
    """The active municipality served at ``host`` (without port), or None."""
    host = host.lower().rstrip(".")
    key = _cache_key(host)
    cached = cache.get(key)
    if cached == _MISSING:
        return None
    if isinstance(cached, Municipality):
        return cached
    municipality = _resolve(host)
    cache.set(key, municipality if municipality else _MISSING, _CACHE_SECONDS)
    return municipality


def _resolve(host: str) -> Municipality | None:
    mapped = MunicipalityDomain.objects.select_related("municipality").filter(hostname=host).first()
    if mapped is not None:
        return mapped.municipality if mapped.municipality.is_active else None
    base = settings.RATHAUS_BASE_DOMAIN.lower()
    if base and host.endswith("." + base):
        label = host[: -len(base) - 1]
        if "." not in label:
            return Municipality.objects.filter(slug=label, is_active=True).first()
        return None
    default = settings.RATHAUS_DEFAULT_TENANT
    if default and (host == base or host in settings.RATHAUS_DEFAULT_TENANT_HOSTS):
        return Municipality.objects.filter(slug=default, is_active=True).first()
    return None


def forget_host(host: str) -> None:
    """Drop the cached resolution of ``host`` (after its mapping changed)."""
    cache.delete(_cache_key(host.lower().rstrip(".")))


def request_municipality(request: HttpRequest) -> Municipality:
    """The municipality of a request that passed ``TenantMiddleware``."""
    municipality: Municipality | None = getattr(request, "municipality", None)
    if municipality is None:
        raise LookupError("This request has no municipality; is the view tenant-exempt?")
    return municipality


def municipality_site_url(municipality: Municipality) -> str:
    """The public address of the municipality's portal (``scheme://host[:port]``), for
    links built without a request (e-mails and SMS sent by background tasks).

    The host is the first mapped domain, else ``<slug>.<RATHAUS_BASE_DOMAIN>``; scheme
    and port come from ``RATHAUS_PUBLIC_SCHEME`` (https) and ``RATHAUS_PUBLIC_PORT``
    (none), so that a development server on ``http://localhost:8000`` gets working links.
    """
    mapped = (
        MunicipalityDomain.objects.filter(municipality=municipality)
        .order_by("pk")
        .values_list("hostname", flat=True)
        .first()
    )
    host = mapped or f"{municipality.slug}.{settings.RATHAUS_BASE_DOMAIN}"
    port = settings.RATHAUS_PUBLIC_PORT
    return f"{settings.RATHAUS_PUBLIC_SCHEME}://{host}{f':{port}' if port else ''}"
