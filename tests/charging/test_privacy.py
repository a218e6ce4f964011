"""Personal data of charging customers: export, erasure, retention."""

from datetime import timedelta

import pytest
from django.utils import timezone

from rathaus.charging.models import ChargingSession, Token
from rathaus.charging.personal_data import ChargingData
from rathaus.charging.retention import _unlink
from tests.charging.factories import ChargingSessionFactory, StationFactory, TokenFactory
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_a_person_gets_their_cards_and_sessions_and_closing_unlinks_them(municipality) -> None:
    user = UserFactory(municipality=municipality)
    token = TokenFactory(municipality=municipality, user=user, uid="MINE")
    other = TokenFactory(municipality=municipality, uid="NOT-MINE")
    station = StationFactory(site__municipality=municipality)
    ChargingSessionFactory(station=station, token=token, id_tag="MINE")
    ChargingSessionFactory(station=station, token=other, id_tag="NOT-MINE")
    provider = ChargingData()
    [exported] = provider.export(user)
    assert exported["token"] == "MINE"
    assert len(exported["sessions"]) == 1
    erasure = provider.erase(user)
    assert erasure.anonymised == 1
    assert erasure.kept
    token.refresh_from_db()
    assert token.user is None
    assert not token.is_active
    assert token.holder == ""
    assert ChargingSession.objects.count() == 2  # accounting records stay
    assert Token.objects.get(uid="NOT-MINE").is_active


def test_old_records_lose_their_token_link(municipality) -> None:
    station = StationFactory(site__municipality=municipality)
    token = TokenFactory(municipality=municipality)
    old = ChargingSessionFactory(
        station=station,
        token=token,
        id_tag=token.uid,
        status="finished",
        stopped_at=timezone.now() - timedelta(days=500),
    )
    assert _unlink(ChargingSession.objects.filter(pk=old.pk)) == 1
    old.refresh_from_db()
    assert old.token is None
    assert old.id_tag == ""
