"""The one place that scopes the assistant's objects to the municipality and who is asking.

Public pages reach public locations and their buildings; another municipality's ids are
404. Back-office pages need ``assistant.manage_assistant`` (checked by the view
decorator); every id is still scoped to the request's municipality here.
"""

from __future__ import annotations

from typing import Any

from django.http import Http404

from rathaus.assistant.models import Building, Device, Edge, LexiconEntry, Node
from rathaus.catalog.models import Location, Service
from rathaus.core.access import id_or_404, one_or_404
from rathaus.core.models import Municipality


def location_public(*, municipality: Municipality, location_id: Any) -> Location:
    """A public location of the municipality, or 404."""
    return one_or_404(
        Location.objects.filter(
            municipality=municipality, is_public=True, pk=id_or_404(location_id)
        )
    )


def service_public(*, municipality: Municipality, service_id: Any) -> Service:
    """A public service of the municipality, or 404."""
    return one_or_404(
        Service.objects.filter(municipality=municipality, is_public=True, pk=id_or_404(service_id))
    )


def service_by_source_id(*, municipality: Municipality, source_id: Any) -> Service:
    """A public service by its catalogue source id (as the CLI and API report it), or 404."""
    if not isinstance(source_id, str | int) or len(str(source_id)) > 64:
        raise Http404
    return one_or_404(
        Service.objects.filter(
            municipality=municipality, is_public=True, source_id=str(source_id)
        ).order_by("pk")
    )


def building_for_staff(*, municipality: Municipality, building_id: Any) -> Building:
    return one_or_404(
        Building.objects.filter(
            municipality=municipality, pk=id_or_404(building_id)
        ).select_related("location")
    )


def node_for_staff(*, building: Building, node_id: Any) -> Node:
    return one_or_404(
        Node.objects.filter(floor__building=building, pk=id_or_404(node_id)).select_related("floor")
    )


def edge_for_staff(*, building: Building, edge_id: Any) -> Edge:
    return one_or_404(Edge.objects.filter(building=building, pk=id_or_404(edge_id)))


def lexicon_entry_for_staff(*, municipality: Municipality, entry_id: Any) -> LexiconEntry:
    return one_or_404(
        LexiconEntry.objects.filter(municipality=municipality, pk=id_or_404(entry_id))
    )


def device_for_staff(*, municipality: Municipality, device_id: Any) -> Device:
    return one_or_404(Device.objects.filter(municipality=municipality, pk=id_or_404(device_id)))
