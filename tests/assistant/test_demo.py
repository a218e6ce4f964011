"""The Musterstadt demo: the town hall's plan matches the Bürgerbüro demo's counters."""

from __future__ import annotations

import pytest

from rathaus.assistant import selectors
from rathaus.assistant.demo import assistant_demo_load
from rathaus.assistant.models import Building, LexiconEntry, Node
from rathaus.buergerbuero.demo import buergerbuero_demo_load
from rathaus.buergerbuero.models import Counter
from rathaus.core.models import Municipality

pytestmark = pytest.mark.django_db


def test_demo_building_has_the_counters_and_loads_once(municipality: Municipality) -> None:
    buergerbuero_demo_load(municipality=municipality)
    assistant_demo_load(municipality=municipality)
    assistant_demo_load(municipality=municipality)
    building = Building.objects.get()
    rooms = set(
        Counter.objects.filter(office__location=building.location).values_list("room", flat=True)
    )
    assert rooms
    planned = set(Node.objects.filter(floor__building=building).values_list("room", flat=True))
    assert rooms <= planned
    assert LexiconEntry.objects.count() == 1
    for room in sorted(rooms):
        _graph, route = selectors.route_for(
            location=building.location, target=room, barrier_free=True
        )
        assert route.target.room == room


def test_demo_without_locations_does_nothing(municipality: Municipality) -> None:
    assistant_demo_load(municipality=municipality)
    assert not Building.objects.exists()
