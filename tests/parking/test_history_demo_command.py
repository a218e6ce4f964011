"""Downsampled history, the demo data, the management command and the scheduled tasks."""

import json
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from rathaus.core.models import Municipality
from rathaus.parking.demo import parking_demo_load
from rathaus.parking.models import ForecastModel, Observation, ParkingSite, Sign
from rathaus.parking.selectors import sign_display, site_history
from rathaus.parking.services import forecasts_retrain

pytestmark = pytest.mark.django_db


def test_history_is_raw_for_short_and_averaged_for_long_periods(site: ParkingSite) -> None:
    end = timezone.now().replace(minute=0, second=0, microsecond=0)
    start = end - timedelta(days=3)
    Observation.objects.bulk_create(
        Observation(site=site, at=start + timedelta(minutes=15 * i), free=i % 4 * 10, source="mqtt")
        for i in range(3 * 96)
    )
    raw = site_history(site, start=end - timedelta(hours=1), end=end)
    assert [row["free"] for row in raw] == [0, 10, 20, 30]
    hourly = site_history(site, start=start, end=end)
    assert len(hourly) == 72
    assert {(row["free"], row["min_free"]) for row in hourly} == {(15, 0)}


def test_demo_is_idempotent_and_trains_forecasts(municipality: Municipality) -> None:
    parking_demo_load(municipality=municipality)
    parking_demo_load(municipality=municipality)
    assert ParkingSite.objects.filter(municipality=municipality).count() == 4
    assert ForecastModel.objects.count() == 4
    board = Sign.objects.get(municipality=municipality, key="ortseingang-nord")
    assert all(line["text"].startswith("P ") for line in sign_display(board)["lines"])


def test_retraining_leaves_sites_without_history_on_the_fallback(site: ParkingSite) -> None:
    assert forecasts_retrain(municipality=site.municipality) == 0
    assert not ForecastModel.objects.exists()


def test_import_command(municipality: Municipality, tmp_path: Path) -> None:
    path = tmp_path / "sites.json"
    path.write_text(
        json.dumps(
            {
                "sites": [
                    {
                        "id": "a",
                        "name": "A",
                        "type": "CAR_PARK",
                        "lat": 48.1,
                        "lon": 9.1,
                        "capacity": 5,
                    }
                ]
            }
        )
    )
    call_command("parking", "import", str(path), "--municipality", "musterstadt")
    assert ParkingSite.objects.get().name == "A"
    path.write_text("{broken")
    with pytest.raises(CommandError, match="JSON"):
        call_command("parking", "import", str(path), "--municipality", "musterstadt")
    with pytest.raises(CommandError, match="No municipality"):
        call_command("parking", "import", str(path), "--municipality", "nowhere")


def test_periodic_jobs_are_registered() -> None:
    from rathaus.core.schedule import registered

    names = set(registered())
    assert {
        "rathaus.parking.tasks.datex_pull",
        "rathaus.parking.tasks.reservations_release",
        "rathaus.parking.tasks.forecasts_retrain",
    } <= names


def test_the_ingester_is_a_daemon_of_rathaus_serve() -> None:
    from rathaus.core.daemons import daemons_select

    (daemon,) = daemons_select("parking-ingest")
    assert daemon.argv == ("parking", "ingest")
    assert daemon not in daemons_select("auto")  # it needs a broker
