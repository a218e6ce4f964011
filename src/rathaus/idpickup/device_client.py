"""A terminal's side of the protocol: signs requests with the device key and sends them.

Used by the simulator command (``rathaus idpickup simulate``), the benchmark and the tests.
The transport is pluggable: over real HTTP (``UrllibTransport``) or, in tests, any object
with the same ``post`` (e.g. one wrapping Django's test client, which runs the whole
middleware and view stack).
"""

import json
import secrets
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from rathaus.idpickup import signing

DEVICE_PATH = "/api/v1/idpickup/device/"


@dataclass(frozen=True)
class Answer:
    status: int
    body: dict[str, Any]

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    @property
    def code(self) -> str:
        return str(self.body.get("error", {}).get("code", "")) if not self.ok else ""


class Transport(Protocol):
    def post(self, path: str, body: bytes, headers: dict[str, str]) -> Answer: ...


class UrllibTransport:
    """Plain HTTP(S) to a running server."""

    def __init__(self, base_url: str, timeout: float = 10.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout

    def post(self, path: str, body: bytes, headers: dict[str, str]) -> Answer:
        # Only http(s): the base URL comes from the operator's command line.
        request = urllib.request.Request(  # noqa: S310
            self.base_url + path,
            data=body,
            headers={**headers, "Content-Type": "application/json", "Accept": "application/json"},
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
                return Answer(response.status, json.loads(response.read() or b"{}"))
        except urllib.error.HTTPError as error:
            try:
                payload = json.loads(error.read() or b"{}")
            except ValueError:
                payload = {}
            return Answer(error.code, payload)


class TerminalClient:
    """One terminal: its id and key, and the calls of the protocol."""

    def __init__(self, *, device_id: str, key: str, transport: Transport) -> None:
        self.device_id = device_id
        self.key = key
        self.transport = transport

    def signed_headers(
        self, path: str, body: bytes, *, timestamp: int | None = None, nonce: str | None = None
    ) -> dict[str, str]:
        stamp = str(int(time.time()) if timestamp is None else timestamp)
        nonce = nonce or secrets.token_urlsafe(18)
        signature = signing.request_signature(
            key=self.key, method="POST", path=path, timestamp=stamp, nonce=nonce, body=body
        )
        return {
            "X-Device-Id": self.device_id,
            "X-Timestamp": stamp,
            "X-Nonce": nonce,
            "X-Signature": signature,
        }

    def call(self, name: str, payload: dict[str, Any]) -> Answer:
        path = DEVICE_PATH + name
        body = json.dumps(payload).encode()
        return self.transport.post(path, body, self.signed_headers(path, body))

    def heartbeat(self, *, camera_ok: bool | None = True) -> Answer:
        return self.call("heartbeat/", {"camera_ok": camera_ok})

    def event(
        self,
        kind: str,
        *,
        compartment: int | None = None,
        event_id: str | None = None,
        occurred_at: datetime | None = None,
        **data: Any,
    ) -> Answer:
        payload: dict[str, Any] = {
            "event_id": event_id or secrets.token_hex(8),
            "type": kind,
            "occurred_at": (occurred_at or datetime.now(UTC)).isoformat(),
            **data,
        }
        if compartment is not None:
            payload["compartment"] = compartment
        return self.call("events/", payload)

    def load(self, *, staff: list[tuple[str, str]], barcode: str) -> Answer:
        return self.call("load/", {"staff": _staff(staff), "barcode": barcode})

    def unload(self, *, staff: list[tuple[str, str]], compartment: int) -> Answer:
        return self.call("unload/", {"staff": _staff(staff), "compartment": compartment})

    def open(self, *, staff: list[tuple[str, str]], compartment: int, reason: str) -> Answer:
        return self.call(
            "open/", {"staff": _staff(staff), "compartment": compartment, "reason": reason}
        )

    def identify(self, *, pin: str, booking_number: str = "") -> Answer:
        return self.call("pickup/identify/", {"pin": pin, "booking_number": booking_number})

    def verify(
        self,
        *,
        session: str,
        method: str = "fingerprint",
        matched: bool = True,
        receipt_confirmed: bool = True,
        old_document_invalidated: bool = False,
    ) -> Answer:
        return self.call(
            "pickup/verify/",
            {
                "session": session,
                "method": method,
                "matched": matched,
                "receipt_confirmed": receipt_confirmed,
                "old_document_invalidated": old_document_invalidated,
            },
        )

    def load_cycle(self, *, staff: list[tuple[str, str]], barcode: str) -> Answer:
        """Load a document: ask for a compartment, then report its door closed with the
        document inside (what a real terminal does when staff shut the door)."""
        answer = self.load(staff=staff, barcode=barcode)
        if not answer.ok:
            return answer
        number = int(answer.body["compartment"])
        self.event("door_opened", compartment=number)
        return self.event("door_closed", compartment=number, empty=False)

    def pickup_cycle(
        self, *, pin: str, booking_number: str = "", method: str = "fingerprint"
    ) -> Answer:
        """A whole pickup: PIN, identity check, door opened, door closed and empty."""
        answer = self.identify(pin=pin, booking_number=booking_number)
        if not answer.ok:
            return answer
        answer = self.verify(
            session=str(answer.body["session"]),
            method=method,
            old_document_invalidated=method == "old_document",
        )
        if not answer.ok:
            return answer
        number = int(answer.body["compartment"])
        self.event("door_opened", compartment=number)
        return self.event("door_closed", compartment=number, empty=True)


def _staff(staff: list[tuple[str, str]]) -> list[dict[str, str]]:
    return [{"card": card, "pin": pin} for card, pin in staff]
