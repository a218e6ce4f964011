"""The one place that scopes charging rows to the asking municipality and operator.

Stations and sites are operated by staff holding ``charging.operate_stations`` (at the
site's responsible unit, or municipality-wide for sites without one). Another tenant's
ids are 404; staff without the permission for that site are 403.
"""

from typing import Any

from django.core.exceptions import PermissionDenied

from rathaus.charging.models import OPERATE_PERMISSION, Site, Station
from rathaus.core.access import one_or_404
from rathaus.core.models import Municipality
from rathaus.organisation.permissions import user_can, user_can_anywhere


def _may_operate(user: Any, site: Site) -> bool:
    if site.org_unit_id is None:
        return user_can_anywhere(user=user, permission=OPERATE_PERMISSION)
    return user_can(user=user, permission=OPERATE_PERMISSION, org_unit=site.org_unit)


def station_for_operator(*, user: Any, municipality: Municipality, station_id: int) -> Station:
    """A station of ``municipality`` that ``user`` may operate."""
    station = one_or_404(
        Station.objects.select_related("site", "site__org_unit", "tariff").filter(
            municipality=municipality, pk=station_id
        )
    )
    if not _may_operate(user, station.site):
        raise PermissionDenied
    return station


def site_for_operator(*, user: Any, municipality: Municipality, site_id: int) -> Site:
    """A site of ``municipality`` that ``user`` may operate."""
    site = one_or_404(
        Site.objects.select_related("org_unit").filter(municipality=municipality, pk=site_id)
    )
    if not _may_operate(user, site):
        raise PermissionDenied
    return site


def site_for_public(*, municipality: Municipality, site_id: int) -> Site:
    """A published site."""
    return one_or_404(Site.objects.filter(municipality=municipality, pk=site_id, is_public=True))
