"""The live server under concurrent requests on SQLite in memory, where every request
thread shares the test's one connection (regression: a browser test hung for good while
its call display polled next to the clerk's forms)."""

import http.cookiejar
import re
import threading
import urllib.parse
import urllib.request
from typing import Any

import pytest

from tests.buergerbuero.factories import ServiceFactory, offer

pytestmark = pytest.mark.django_db


def test_polls_and_forms_at_once_on_the_live_server_all_complete(
    live_server: Any, office: Any, office_hours: None
) -> None:
    service = ServiceFactory(municipality=office.municipality, name_de="Ausweis abholen")
    offer(service, office, 5)
    kiosk = f"{live_server.url}/kiosk/buergerbuero/{office.location_id}/"
    display = f"{kiosk}aufruf/"
    outcomes: list[Any] = []

    def draw(rounds: int) -> None:
        jar = http.cookiejar.CookieJar()
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
        for _ in range(rounds):
            try:
                page = opener.open(kiosk, timeout=20).read().decode()
                token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
                assert token
                body = urllib.parse.urlencode(
                    {"csrfmiddlewaretoken": token.group(1), "service": service.pk}
                ).encode()
                request = urllib.request.Request(kiosk, data=body, headers={"Referer": kiosk})  # noqa: S310
                with opener.open(request, timeout=20) as response:
                    outcomes.append(response.status)
            except Exception as error:  # reported below
                outcomes.append(repr(error))

    def poll(rounds: int) -> None:
        for _ in range(rounds):
            try:
                with urllib.request.urlopen(display, timeout=20) as response:  # noqa: S310
                    outcomes.append(response.status)
            except Exception as error:  # reported below
                outcomes.append(repr(error))

    threads = [threading.Thread(target=draw, args=(10,)) for _ in range(4)]
    threads += [threading.Thread(target=poll, args=(20,)) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not any(t.is_alive() for t in threads)
    assert outcomes == [200] * 120, [o for o in outcomes if o != 200][:5]
