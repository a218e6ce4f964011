"""The one place that scopes catalogue objects to the asking municipality."""

from rathaus.catalog import selectors
from rathaus.catalog.models import Category, LifeSituation, Location, Service
from rathaus.core.access import one_or_404
from rathaus.core.models import Municipality


def service_for_public(*, municipality: Municipality, slug: str) -> Service:
    """A public service of this municipality by slug, or 404."""
    return one_or_404(
        Service.objects.filter(municipality=municipality, slug=slug, is_public=True).select_related(
            "responsible_unit"
        )
    )


def service_for_api(*, municipality: Municipality, service_id: int) -> Service:
    """A public service of this municipality by id, with its relations, or 404."""
    return one_or_404(
        selectors.services_for_api(municipality=municipality, with_locations=True).filter(
            pk=service_id
        )
    )


def location_for_public(*, municipality: Municipality, location_id: int) -> Location:
    """A public location of this municipality by id, or 404."""
    return one_or_404(
        Location.objects.filter(municipality=municipality, pk=location_id, is_public=True)
    )


def life_situation_for_public(*, municipality: Municipality, slug: str) -> LifeSituation:
    """A life situation of this municipality by slug, or 404."""
    return one_or_404(LifeSituation.objects.filter(municipality=municipality, slug=slug))


def category_for_public(*, municipality: Municipality, slug: str) -> Category:
    """A category of this municipality by slug, or 404."""
    return one_or_404(Category.objects.filter(municipality=municipality, slug=slug))
