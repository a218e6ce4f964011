"""The auditor's back office: search, detail, export; scoped, read-only, hostile-input safe."""

import csv
import io
import json
import re
from datetime import UTC, datetime

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from rathaus.accounts.models import User
from rathaus.audit import views
from rathaus.audit.chain import event_hash
from rathaus.audit.models import AuditEvent
from rathaus.core.models import Municipality
from tests.audit.factories import AUDITOR_PERMISSIONS, AuditEventFactory
from tests.factories import PASSWORD, StaffFactory, UserFactory

pytestmark = pytest.mark.django_db

LIST = "/verwaltung/protokoll/"
CSV = "/verwaltung/protokoll/export.csv"
JSON = "/verwaltung/protokoll/export.json"


@pytest.fixture
def client_en(client: Client) -> Client:
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


@pytest.fixture
def auditor_client(client_en: Client, auditor: User) -> Client:
    client_en.force_login(auditor)
    return client_en


def _body(response: object) -> str:
    if getattr(response, "streaming", False):
        return b"".join(response.streaming_content).decode()  # type: ignore[attr-defined]
    return response.content.decode()  # type: ignore[attr-defined]


def _sequences(response: object) -> list[int]:
    return [event.sequence for event in response.context["page"].events]  # type: ignore[attr-defined]


# --- Who may see what ----------------------------------------------------------------


def test_auditor_sees_only_own_municipality_newest_first(
    auditor_client: Client, municipality: Municipality, other_municipality: Municipality
) -> None:
    # Given events of this municipality and of another one
    AuditEventFactory(municipality=municipality, action="accounts.login.succeeded")
    AuditEventFactory(municipality=other_municipality, action="secret.of.beispielheim")
    AuditEventFactory(municipality=municipality, action="accounts.role.changed")
    AuditEventFactory(municipality=None, action="platform.only")
    # When the auditor opens the trail
    response = auditor_client.get(LIST)
    # Then only this municipality's events are listed, newest first
    assert response.status_code == 200
    assert [e.action for e in response.context["page"].events] == [
        "accounts.role.changed",
        "accounts.login.succeeded",
    ]
    body = _body(response)
    assert "secret.of.beispielheim" not in body
    assert "platform.only" not in body
    assert "<h1>Audit trail</h1>" in body
    assert f'href="{CSV}"' in body
    assert f'href="{JSON}"' in body


def test_other_municipalitys_event_is_not_found(
    auditor_client: Client, municipality: Municipality, other_municipality: Municipality
) -> None:
    theirs = AuditEventFactory(municipality=other_municipality, action="their.event")
    platform = AuditEventFactory(municipality=None, action="platform.event")
    for event_id in [theirs.pk, platform.pk, 999_999, 99_999_999_999_999_999_999]:
        assert auditor_client.get(f"{LIST}{event_id}/").status_code == 404


def test_detail_shows_every_field(auditor_client: Client, municipality: Municipality) -> None:
    clerk = StaffFactory(municipality=municipality, email="clerk@example.org")
    citizen = UserFactory(municipality=municipality)
    event = AuditEventFactory(
        municipality=municipality,
        action="privacy.personal_data.read",
        actor=clerk,
        target=citizen,
        data={"purpose": "Antrag <prüfen>", "fields": ["name", "address"]},
        ip="192.0.2.1",
        occurred_at=datetime(2026, 3, 1, 11, 0, 0, 500000, tzinfo=UTC),
    )
    response = auditor_client.get(f"{LIST}{event.pk}/")
    body = _body(response)
    assert response.status_code == 200
    assert "<h1>Audit entry 1</h1>" in body
    assert "2026-03-01 12:00:00.500000 CET" in body
    assert f"clerk@example.org (account {clerk.pk})" in body
    assert f"accounts.user {citizen.pk}" in body
    assert "<dt>purpose</dt><dd>Antrag &lt;prüfen&gt;</dd>" in body
    assert "<dt>fields</dt><dd>[&quot;name&quot;, &quot;address&quot;]</dd>" in body
    assert "192.0.2.1" in body
    assert event.hash in body
    assert event.previous_hash in body


PAGES = [LIST, f"{LIST}1/", CSV, JSON]


@pytest.mark.parametrize("url", PAGES)
def test_anonymous_visitors_are_sent_to_the_login(
    client: Client, municipality: Municipality, url: str
) -> None:
    AuditEventFactory(municipality=municipality)
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith("/anmelden/?next=")


@pytest.mark.parametrize("url", PAGES)
@pytest.mark.parametrize(
    "who",
    ["staff without the auditor's rights", "citizen", "platform operator"],
)
def test_everyone_but_the_municipalitys_auditors_is_refused(
    client: Client, municipality: Municipality, url: str, who: str
) -> None:
    AuditEventFactory(municipality=municipality)
    user = {
        "staff without the auditor's rights": lambda: StaffFactory(municipality=municipality),
        "citizen": lambda: UserFactory(municipality=municipality, permissions=AUDITOR_PERMISSIONS),
        "platform operator": lambda: StaffFactory(
            municipality=None, permissions=AUDITOR_PERMISSIONS
        ),
    }[who]()
    client.force_login(user)
    before = AuditEvent.objects.count()
    assert client.get(url).status_code == 403
    assert AuditEvent.objects.count() == before


@pytest.mark.parametrize("url", PAGES)
def test_another_municipalitys_auditor_counts_as_anonymous_here(
    client: Client, municipality: Municipality, other_municipality: Municipality, url: str
) -> None:
    AuditEventFactory(municipality=municipality)
    client.force_login(
        StaffFactory(municipality=other_municipality, permissions=AUDITOR_PERMISSIONS)
    )
    assert client.get(url).status_code == 302


def test_reading_without_export_right_shows_no_export(
    client_en: Client, municipality: Municipality
) -> None:
    AuditEventFactory(municipality=municipality)
    client_en.force_login(
        StaffFactory(municipality=municipality, permissions=["audit.view_auditevent"])
    )
    response = client_en.get(LIST)
    assert response.status_code == 200
    body = _body(response)
    assert CSV not in body
    assert JSON not in body
    assert client_en.get(CSV).status_code == 403
    assert client_en.get(JSON).status_code == 403
    assert AuditEvent.objects.filter(action="audit.exported").count() == 0


@pytest.mark.parametrize("url", PAGES)
@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
def test_nothing_can_be_written_through_these_pages(
    auditor_client: Client, municipality: Municipality, url: str, method: str
) -> None:
    event = AuditEventFactory(municipality=municipality, action="original")
    response = getattr(auditor_client, method)(url, {"action": "changed"})
    assert response.status_code == 405
    assert list(AuditEvent.objects.values_list("pk", "action")) == [(event.pk, "original")]


@pytest.mark.parametrize("url", [CSV, JSON])
def test_head_does_not_count_as_an_export(
    auditor_client: Client, municipality: Municipality, url: str
) -> None:
    AuditEventFactory(municipality=municipality)
    assert auditor_client.head(url).status_code == 405
    assert AuditEvent.objects.filter(action="audit.exported").count() == 0


# --- Search and pages ------------------------------------------------------------------


def test_filters_narrow_the_list(auditor_client: Client, municipality: Municipality) -> None:
    clerk = StaffFactory(municipality=municipality, email="clerk@example.org")
    citizen = UserFactory(municipality=municipality)
    other = UserFactory(municipality=municipality)

    def at(day: int, hour: int, minute: int = 0) -> datetime:
        return datetime(2026, 3, day, hour, minute, tzinfo=UTC)

    # 1: 23:30 on 1 March in Berlin; 2: 00:30 on 2 March in Berlin; 3: 3 March
    AuditEventFactory(
        municipality=municipality, action="accounts.login.failed", occurred_at=at(1, 22, 30)
    )
    AuditEventFactory(
        municipality=municipality,
        action="accounts.login.succeeded",
        actor=clerk,
        occurred_at=at(1, 23, 30),
    )
    AuditEventFactory(
        municipality=municipality,
        action="privacy.personal_data.read",
        actor=clerk,
        target=citizen,
        occurred_at=at(3, 10),
    )
    AuditEventFactory(
        municipality=municipality,
        action="accounts.logout",
        actor=clerk,
        target=other,
        occurred_at=at(3, 11),
    )
    cases = [
        ({}, [4, 3, 2, 1]),
        ({"von": "2026-03-02"}, [4, 3, 2]),
        ({"bis": "2026-03-01"}, [1]),
        ({"von": "2026-03-02", "bis": "2026-03-02"}, [2]),
        ({"aktion": "accounts.login"}, [2, 1]),
        ({"aktion": "accounts."}, [4, 2, 1]),
        ({"person": "CLERK@example.org"}, [4, 3, 2]),
        ({"objekttyp": "accounts.user"}, [4, 3]),
        ({"objekttyp": "accounts.user", "objekt": str(citizen.pk)}, [3]),
        ({"aktion": "accounts", "person": "clerk@example.org", "von": "2026-03-03"}, [4]),
        ({"aktion": "nothing"}, []),
    ]
    for params, expected in cases:
        response = auditor_client.get(LIST, params)
        assert response.status_code == 200, params
        assert _sequences(response) == expected, params
    assert "No entries match the search." in _body(auditor_client.get(LIST, {"aktion": "x"}))


def test_pages_of_fifty_with_stable_links(
    auditor_client: Client, municipality: Municipality
) -> None:
    for n in range(120):
        AuditEventFactory(municipality=municipality, action=f"test.{n % 2}")
    first = auditor_client.get(LIST)
    assert _sequences(first) == list(range(120, 70, -1))
    body = _body(first)
    assert 'href="?vor=71"' in body
    assert "Newer entries" not in body
    second = auditor_client.get(LIST, {"vor": 71})
    assert _sequences(second) == list(range(70, 20, -1))
    assert 'href="?nach=70"' in _body(second)
    assert 'href="?vor=21"' in _body(second)
    last = auditor_client.get(LIST, {"vor": 21})
    assert _sequences(last) == list(range(20, 0, -1))
    assert "Older entries" not in _body(last)
    back = auditor_client.get(LIST, {"nach": 70})
    assert _sequences(back) == list(range(120, 70, -1))
    assert 'href="?vor=71"' in _body(back)
    # Filters stay in the links
    filtered = auditor_client.get(LIST, {"aktion": "test.1"})
    assert _sequences(filtered) == list(range(120, 20, -2))
    assert 'href="?aktion=test.1&amp;vor=22"' in _body(filtered)
    assert _sequences(auditor_client.get(LIST, {"aktion": "test.1", "vor": 22})) == list(
        range(20, 0, -2)
    )


def test_list_costs_the_same_queries_for_one_entry_or_many(
    auditor_client: Client, municipality: Municipality
) -> None:
    AuditEventFactory(municipality=municipality)
    auditor_client.get(LIST)  # warm the tenant cache and the session
    with CaptureQueriesContext(connection) as one:
        assert auditor_client.get(LIST).status_code == 200
    for _ in range(60):
        AuditEventFactory(municipality=municipality)
    with CaptureQueriesContext(connection) as many:
        assert auditor_client.get(LIST).status_code == 200
    with CaptureQueriesContext(connection) as paged:
        assert auditor_client.get(LIST, {"vor": 30}).status_code == 200

    def audit_queries(captured: CaptureQueriesContext) -> int:
        return sum("audit_auditevent" in q["sql"] for q in captured.captured_queries)

    assert len(one) == len(many)
    # One query for the page; a page further back also asks whether newer ones exist
    assert (audit_queries(one), audit_queries(many), audit_queries(paged)) == (1, 1, 2)
    assert len(paged) == len(many) + 1


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"von": "2026-13-45"}, "von"),
        ({"von": "0001-01-01"}, "von"),
        ({"bis": "99999-01-01"}, "bis"),
        ({"von": "2026-03-02", "bis": "2026-03-01"}, "bis"),
        ({"aktion": "a" * 101}, "aktion"),
        ({"aktion": "x" * 10_000}, "aktion"),
        ({"aktion": "<script>alert(1)</script>"}, "aktion"),
        ({"aktion": "accounts' OR 1=1 --"}, "aktion"),
        ({"person": "not-an-address"}, "person"),
        ({"person": "a" * 300 + "@example.org"}, "person"),
        ({"objekttyp": "accounts user"}, "objekttyp"),
        ({"objekt": "9" * 101}, "objekt"),
        ({"objekt": "a\x00b"}, "objekt"),
    ],
)
@pytest.mark.parametrize("url", [LIST, CSV, JSON])
def test_hostile_filters_get_a_400_page_with_linked_errors(
    auditor_client: Client, municipality: Municipality, params: dict[str, str], field: str, url: str
) -> None:
    AuditEventFactory(municipality=municipality, action="accounts.login.succeeded")
    response = auditor_client.get(url, params)
    body = _body(response)
    assert response.status_code == 400
    assert f'id="id_{field}_error"' in body
    assert f'href="#id_{field}"' in body
    assert 'aria-invalid="true"' in body
    assert "<table" not in body
    assert "<script>alert" not in body
    assert AuditEvent.objects.filter(action="audit.exported").count() == 0


@pytest.mark.parametrize(
    "params",
    [
        {"vor": "abc"},
        {"vor": "-1"},
        {"vor": "0"},
        {"nach": "9223372036854775808"},
        {"vor": "9" * 5000},
        {"vor": "1.5"},
        {"vor": "10", "nach": "2"},
    ],
)
def test_absurd_page_links_get_a_400_page(
    auditor_client: Client, municipality: Municipality, params: dict[str, str]
) -> None:
    AuditEventFactory(municipality=municipality)
    response = auditor_client.get(LIST, params)
    assert response.status_code == 400
    assert "This page link is not valid." in _body(response)


def test_highest_possible_page_link_is_just_empty(
    auditor_client: Client, municipality: Municipality
) -> None:
    AuditEventFactory(municipality=municipality)
    assert _sequences(auditor_client.get(LIST, {"nach": str(2**63 - 1)})) == []
    assert _sequences(auditor_client.get(LIST, {"vor": str(2**63 - 1)})) == [1]


# --- Export ------------------------------------------------------------------------------


@pytest.fixture
def two_events(municipality: Municipality, other_municipality: Municipality) -> list[AuditEvent]:
    clerk = StaffFactory(municipality=municipality, email="clerk@example.org")
    citizen = UserFactory(municipality=municipality)
    first = AuditEventFactory(
        municipality=municipality,
        action="accounts.login.succeeded",
        actor=clerk,
        data={"method": "password", "trust_level": 1},
        ip="192.0.2.1",
        occurred_at=datetime(2026, 3, 1, 9, 0, tzinfo=UTC),
    )
    second = AuditEventFactory(
        municipality=municipality,
        action="privacy.personal_data.read",
        actor=clerk,
        target=citizen,
        data={"purpose": 'Prüfung, "Antrag" 17'},
        occurred_at=datetime(2026, 3, 1, 9, 5, 0, 250, tzinfo=UTC),
    )
    AuditEventFactory(municipality=other_municipality, action="accounts.login.succeeded")
    return [first, second]


def test_csv_export_holds_exactly_the_matching_entries(
    auditor_client: Client, two_events: list[AuditEvent], auditor: User
) -> None:
    first, second = two_events
    response = auditor_client.get(CSV)
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert re.fullmatch(
        r'attachment; filename="protokoll-musterstadt-\d{4}-\d\d-\d\d-\d{6}\.csv"',
        response["Content-Disposition"],
    )
    chain = first.chain
    assert _body(response) == (
        "\ufeffid,chain,sequence,occurred_at,actor_id,actor_label,action,target_type,target_id,"
        "data,ip,request_id,previous_hash,hash\r\n"
        f"{first.pk},{chain},1,2026-03-01T09:00:00.000000+00:00,{first.actor_id},"
        "clerk@example.org,accounts.login.succeeded,,,"
        '"{""method"":""password"",""trust_level"":1}",192.0.2.1,,'
        f"{'0' * 64},{first.hash}\r\n"
        f"{second.pk},{chain},2,2026-03-01T09:05:00.000250+00:00,{second.actor_id},"
        f"clerk@example.org,privacy.personal_data.read,accounts.user,{second.target_id},"
        '"{""purpose"":""Prüfung, \\""Antrag\\"" 17""}",,,'
        f"{first.hash},{second.hash}\r\n"
    )


def test_json_export_can_be_verified_offline(
    auditor_client: Client, two_events: list[AuditEvent], municipality: Municipality
) -> None:
    first, second = two_events
    response = auditor_client.get(JSON, {"aktion": "privacy"})
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json; charset=utf-8"
    exported = json.loads(_body(response))
    assert exported == {
        "municipality": "musterstadt",
        "chain": str(municipality.pk),
        "filters": {"action_prefix": "privacy"},
        "count": 1,
        "events": [
            {
                "id": second.pk,
                "chain": str(municipality.pk),
                "sequence": 2,
                "occurred_at": "2026-03-01T09:05:00.000250+00:00",
                "actor_id": second.actor_id,
                "actor_label": "clerk@example.org",
                "action": "privacy.personal_data.read",
                "target_type": "accounts.user",
                "target_id": second.target_id,
                "data": {"purpose": 'Prüfung, "Antrag" 17'},
                "ip": None,
                "request_id": "",
                "previous_hash": first.hash,
                "hash": second.hash,
            }
        ],
    }
    # Anyone holding the file can recompute the hash without the database
    row = dict(exported["events"][0])
    stored, row["occurred_at"] = row.pop("hash"), datetime.fromisoformat(row["occurred_at"])
    del row["id"]
    assert event_hash(**row) == stored


@pytest.mark.parametrize(("url", "export_format"), [(CSV, "csv"), (JSON, "json")])
def test_every_export_is_itself_recorded(
    auditor_client: Client,
    two_events: list[AuditEvent],
    auditor: User,
    municipality: Municipality,
    url: str,
    export_format: str,
) -> None:
    response = auditor_client.get(url, {"aktion": "accounts", "von": "2026-03-01"})
    content = _body(response)
    record = AuditEvent.objects.filter(chain=str(municipality.pk)).order_by("-sequence").first()
    assert record is not None
    assert (record.sequence, record.action, record.actor_id, record.actor_label, record.ip) == (
        3,
        "audit.exported",
        auditor.pk,
        "pruefer@example.org",
        "127.0.0.1",
    )
    assert record.data == {
        "filters": {"action_prefix": "accounts", "date_from": "2026-03-01"},
        "format": export_format,
        "count": 1,
    }
    # The export holds what was counted, not its own record
    assert "audit.exported" not in content


def test_too_large_export_is_refused_with_a_clear_message(
    auditor_client: Client, municipality: Municipality, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(views, "EXPORT_LIMIT", 2)
    for _ in range(2):
        AuditEventFactory(municipality=municipality, action="accounts.login.succeeded")
    AuditEventFactory(municipality=municipality, action="privacy.personal_data.read")
    response = auditor_client.get(CSV)
    assert response.status_code == 400
    assert (
        "This export would hold 3 entries; at most 2 can be exported at once. "
        "Please narrow the search, for example by date."
    ) in _body(response)
    assert AuditEvent.objects.filter(action="audit.exported").count() == 0
    # Narrowed to the limit, it works
    narrowed = auditor_client.get(JSON, {"aktion": "accounts"})
    assert narrowed.status_code == 200
    assert json.loads(_body(narrowed))["count"] == 2


def test_csv_cells_cannot_become_spreadsheet_formulas(
    auditor_client: Client, municipality: Municipality
) -> None:
    event = AuditEventFactory(
        municipality=municipality,
        action="accounts.login.failed",
        target_type="accounts.user",
        target_id='=HYPERLINK("http://evil.example")',
        data={"email": "@SUM(1+1)"},
    )
    rows = list(csv.reader(io.StringIO(_body(auditor_client.get(CSV)).lstrip("\ufeff"))))
    assert rows[1][8] == '\'=HYPERLINK("http://evil.example")'
    # Cells that merely contain such characters further in are left alone
    assert rows[1][9] == '{"email":"@SUM(1+1)"}'
    # The JSON export keeps the exact value
    exported = json.loads(_body(auditor_client.get(JSON, {"aktion": "accounts"})))
    assert exported["events"][0]["target_id"] == event.target_id


def test_auditor_signs_in_with_the_login_form(client: Client, auditor: User) -> None:
    # The role's permissions work through the real login, not only force_login
    response = client.post("/anmelden/", {"username": auditor.email, "password": PASSWORD})
    assert response.status_code == 302
    assert client.get(LIST).status_code == 200
