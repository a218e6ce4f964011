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
from rathaus.core.models import Municipality


def _id(value: Any) -> int:
    try:
        number = int(str(value))
    except (TypeError, ValueError):
        raise Http404 from None
    if number < 1 or number > 2**62:
        raise Http404
    return number


def location_public(*, municipality: Municipality, location_id: Any) -> Location:
    """A public location of the municipality, or 404."""
    found = Location.objects.filter(
        municipality=municipality, is_public=True, pk=_id(location_id)
    ).first()
    if found is None:
        raise Http404
    return found


def service_public(*, municipality: Municipality, service_id: Any) -> Service:
    """A public service of the municipality, or 404."""
    found = Service.objects.filter(
        municipality=municipality, is_public=True, pk=_id(service_id)
    ).first()
    if found is None:
        raise Http404
    return found


def service_by_source_id(*, municipality: Municipality, source_id: Any) -> Service:
    """A public service by its catalogue source id (as the CLI and API report it), or 404."""
    if not isinstance(source_id, str | int) or len(str(source_id)) > 64:
        raise Http404
    found = (
        Service.objects.filter(municipality=municipality, is_public=True, source_id=str(source_id))
        .order_by("pk")
        .first()
    )
    if found is None:
        raise Http404
    return found


def building_for_staff(*, municipality: Municipality, building_id: Any) -> Building:
    found = (
        Building.objects.filter(municipality=municipality, pk=_id(building_id))
        .select_related("location")
        .first()
    )
    if found is None:
        raise Http404
    return found


def node_for_staff(*, building: Building, node_id: Any) -> Node:
    found = (
        Node.objects.filter(floor__building=building, pk=_id(node_id))
        .select_related("floor")
        .first()
    )
    if found is None:
        raise Http404
    return found


def edge_for_staff(*, building: Building, edge_id: Any) -> Edge:
    found = Edge.objects.filter(building=building, pk=_id(edge_id)).first()
    if found is None:
        raise Http404
    return found


def lexicon_entry_for_staff(*, municipality: Municipality, entry_id: Any) -> LexiconEntry:
    found = LexiconEntry.objects.filter(municipality=municipality, pk=_id(entry_id)).first()
    if found is None:
        raise Http404
    return found


def device_for_staff(*, municipality: Municipality, device_id: Any) -> Device:
    found = Device.objects.filter(municipality=municipality, pk=_id(device_id)).first()
    if found is None:
        raise Http404
    return found
