"""The helpers every app's ``access.py`` scopes with: membership, ids from requests and
"this scoped row or 404"."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import AnonymousUser
from django.http import Http404

from rathaus.core.access import MAX_ID, id_or_404, is_member, is_staff_of, one_or_404
from rathaus.core.models import Municipality
from tests.factories import MunicipalityFactory, StaffFactory, UserFactory


@pytest.mark.parametrize("value", [1, "1", "42", "007", MAX_ID, str(MAX_ID)])
def test_id_or_404_takes_what_can_name_a_row(value: object) -> None:
    assert id_or_404(value) == int(str(value))


@pytest.mark.parametrize(
    "value",
    [
        0,
        "0",
        -1,
        "-1",
        MAX_ID + 1,
        "9" * 19,
        "1" * 5000,
        "",
        " 5",
        "5 ",
        "+5",
        "5_000",
        "1.0",
        1.5,
        "0x1f",
        "٣",  # an Arabic-Indic digit, which int() would take
        "five",
        None,
        True,
        [1],
    ],
)
def test_id_or_404_refuses_anything_else(value: object) -> None:
    with pytest.raises(Http404):
        id_or_404(value)


@pytest.mark.django_db
def test_is_member_only_for_signed_in_users_of_that_municipality() -> None:
    here = MunicipalityFactory()
    elsewhere = MunicipalityFactory()
    citizen = UserFactory(municipality=here)
    clerk = StaffFactory(municipality=here)
    assert is_member(citizen, here)
    assert is_member(clerk, here)
    assert not is_member(citizen, elsewhere)
    assert not is_member(AnonymousUser(), here)
    assert not is_member(None, here)
    assert is_staff_of(clerk, here)
    assert not is_staff_of(citizen, here)
    assert not is_staff_of(clerk, elsewhere)
    assert not is_staff_of(StaffFactory(municipality=None), here)  # a platform operator
    assert not is_staff_of(AnonymousUser(), here)


@pytest.mark.django_db
def test_one_or_404_returns_the_scoped_row_and_404_for_another_tenants() -> None:
    here = MunicipalityFactory()
    elsewhere = MunicipalityFactory()
    scoped = Municipality.objects.filter(pk=here.pk)
    assert one_or_404(scoped) == here
    with pytest.raises(Http404):
        one_or_404(Municipality.objects.filter(pk=here.pk).exclude(pk=here.pk))
    with pytest.raises(Http404):
        one_or_404(Municipality.objects.filter(pk=elsewhere.pk, slug=here.slug))
