"""Parsing of MQTT payloads and pushed JSON/CSV: hostile input gives a reason, not a crash."""

import pytest

from rathaus.parking.inbound import ParseError, mqtt_parse, push_csv_parse, push_json_parse

TOPIC = "rathaus/musterstadt/parking/sites/marstall/count"


def test_count_and_space_topics() -> None:
    reading = mqtt_parse(TOPIC, b'{"free": 12, "at": "2026-11-28T10:00:00Z"}')
    assert (reading.tenant, reading.site, reading.free, reading.space) == (
        "musterstadt",
        "marstall",
        12,
        None,
    )
    space = mqtt_parse(
        "rathaus/musterstadt/parking/sites/marstall/spaces/R1",
        b'{"occupied": true, "at": "2026-11-28T10:00:00+01:00"}',
    )
    assert (space.space, space.occupied, space.at.hour) == ("R1", True, 9)


@pytest.mark.parametrize(
    ("topic", "payload", "reason"),
    [
        ("rathaus/musterstadt/parking/sites/marstall/other", b"{}", "bad_topic"),
        ("rathaus/Muster/parking/sites/x/count", b"{}", "bad_topic"),
        ("rathaus/musterstadt/parking/sites/../count", b"{}", "bad_topic"),
        (TOPIC, b"x" * 2000, "oversized"),
        (TOPIC, b"\xff\xfe", "malformed"),
        (TOPIC, b"not json", "malformed"),
        (TOPIC, b"[1, 2]", "malformed"),
        (TOPIC, b'{"free": "12", "at": "2026-11-28T10:00:00Z"}', "malformed"),
        (TOPIC, b'{"free": true, "at": "2026-11-28T10:00:00Z"}', "malformed"),
        (TOPIC, b'{"free": 12}', "bad_timestamp"),
        (TOPIC, b'{"free": 12, "at": "2026-11-28T10:00:00"}', "bad_timestamp"),
        (TOPIC, b'{"free": 12, "at": "yesterday"}', "bad_timestamp"),
        (
            "rathaus/m/parking/sites/s/spaces/1",
            b'{"occupied": "yes", "at": "2026-11-28T10:00:00Z"}',
            "malformed",
        ),
    ],
)
def test_bad_messages_name_their_reason(topic: str, payload: bytes, reason: str) -> None:
    with pytest.raises(ParseError) as caught:
        mqtt_parse(topic, payload)
    assert caught.value.reason == reason


def test_push_json_keeps_good_readings_and_lists_bad_ones() -> None:
    readings, errors = push_json_parse(
        "musterstadt",
        {
            "readings": [
                {"site": "a", "free": 3, "at": "2026-11-28T10:00:00Z"},
                {"site": "a b", "free": 1, "at": "x"},
                7,
            ]
        },
    )
    assert [r.site for r in readings] == ["a"]
    assert [e.reason for e in errors] == ["malformed", "malformed"]
    with pytest.raises(ParseError):
        push_json_parse("musterstadt", {"readings": [{}] * 1001})
    with pytest.raises(ParseError):
        push_json_parse("musterstadt", [])


def test_push_csv() -> None:
    raw = b"site,free,at\nmarstall,5,2026-11-28T10:00:00Z\nmarstall,abc,2026-11-28T10:05:00Z\n"
    readings, errors = push_csv_parse("musterstadt", raw)
    assert [r.free for r in readings] == [5]
    assert errors[0].reason == "malformed"
    spaces, _ = push_csv_parse(
        "m", b"site,space,occupied,at\nmarstall,R1,true,2026-11-28T10:00:00Z\n"
    )
    assert spaces[0].occupied is True


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("site;free;at\nmarstall;5;2026".encode("utf-16"), "bad_encoding"),
        (b"\xc3\x28broken", "bad_encoding"),
        (b"name,value\nx,1\n", "malformed"),
        (b"", "malformed"),
    ],
)
def test_push_csv_refuses_broken_files(raw: bytes, reason: str) -> None:
    with pytest.raises(ParseError) as caught:
        push_csv_parse("musterstadt", raw)
    assert caught.value.reason == reason
