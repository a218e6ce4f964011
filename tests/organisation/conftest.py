"""Fixtures of the organisation tests: the default tree of Musterstadt and the backend."""

from typing import Any

import pytest

from rathaus.core.models import Municipality
from rathaus.organisation.models import OrgUnit
from rathaus.organisation.services import organisation_defaults_ensure

BACKEND = "rathaus.organisation.backends.RolePermissionBackend"


@pytest.fixture(autouse=True)
def _role_backend(settings: Any) -> None:
    """The backend as the lead wires it into AUTHENTICATION_BACKENDS."""
    if BACKEND not in settings.AUTHENTICATION_BACKENDS:
        settings.AUTHENTICATION_BACKENDS = [*settings.AUTHENTICATION_BACKENDS, BACKEND]


@pytest.fixture
def units(municipality: Municipality) -> dict[str, OrgUnit]:
    """Musterstadt's default tree: SV > OB, FB 1 > BB, STA, FB 2 > KÄM, KASSE, FB 3, FB 4."""
    return organisation_defaults_ensure(municipality=municipality)


@pytest.fixture
def other_units(other_municipality: Municipality) -> dict[str, OrgUnit]:
    """Beispielheim's default tree."""
    return organisation_defaults_ensure(municipality=other_municipality)
