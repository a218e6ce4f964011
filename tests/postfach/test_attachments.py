"""Attachments: PDF, PNG, JPEG and plain text by their content; everything else refused
with a reason naming the file; limits per file and per message; stored unguessably."""

import hashlib
from collections.abc import Callable
from typing import Any

import pytest
from django.core.files.storage import default_storage

from rathaus.accounts.models import User
from rathaus.core.errors import ValidationFailed
from rathaus.notifications.models import Notification
from rathaus.postfach.files import MAX_FILE_BYTES, safe_name
from rathaus.postfach.models import Attachment, Message
from tests.postfach.conftest import JPEG_BYTES, PNG_BYTES, pdf, upload
from tests.postfach.factories import PDF_BYTES

pytestmark = pytest.mark.django_db

EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 64
HTML = b"<!DOCTYPE html>\n<html><body><script>alert(document.cookie)</script></body></html>"
SVG = b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><circle r="4"/></svg>'
XML_SVG = b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg"></svg>'
TEXT_WITH_SCRIPT = b"Sehr geehrte Damen und Herren,\n<script>alert(1)</script>\n"
PDF_WITH_SCRIPT = b"%PDF-1.4\n1 0 obj << /OpenAction << /S /JavaScript /JS (app.alert(1)) >> >>"
ZIP = b"PK\x03\x04\x14\x00\x00\x00\x08\x00" + b"\x00" * 20
ELF = b"\x7fELF\x02\x01\x01" + b"\x00" * 20
SCRIPT = b"#!/bin/sh\nrm -rf /\n"
BINARY = bytes(range(256)) * 4


def _refused(send: Callable[..., Message], recipient: User, files: list[Any]) -> list[str]:
    with pytest.raises(ValidationFailed) as refused:
        send(recipient, kind="information", attachments=files)
    assert not Message.objects.exists()
    assert not Attachment.objects.exists()
    assert not Notification.objects.exists()
    return refused.value.fields["attachments"]


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        (
            "bescheid.pdf",
            EXE,
            "“bescheid.pdf” cannot be attached: it is a program, which is not accepted.",
        ),
        (
            "programm.exe",
            EXE,
            "“programm.exe” cannot be attached: it is a program, which is not accepted.",
        ),
        (
            "linux.txt",
            ELF,
            "“linux.txt” cannot be attached: it is a program, which is not accepted.",
        ),
        (
            "skript.txt",
            SCRIPT,
            "“skript.txt” cannot be attached: it is a program, which is not accepted.",
        ),
        (
            "seite.html",
            HTML,
            "“seite.html” cannot be attached: HTML, SVG and other markup are not accepted.",
        ),
        (
            "info.txt",
            HTML,
            "“info.txt” cannot be attached: HTML, SVG and other markup are not accepted.",
        ),
        (
            "bild.svg",
            SVG,
            "“bild.svg” cannot be attached: HTML, SVG and other markup are not accepted.",
        ),
        (
            "bild.png",
            XML_SVG,
            "“bild.png” cannot be attached: HTML, SVG and other markup are not accepted.",
        ),
        (
            "brief.txt",
            TEXT_WITH_SCRIPT,
            "“brief.txt” cannot be attached: HTML, SVG and other markup are not accepted.",
        ),
        (
            "aktiv.pdf",
            PDF_WITH_SCRIPT,
            "“aktiv.pdf” cannot be attached: "
            "the PDF contains scripts or actions that start programs.",
        ),
        (
            "unterlagen.zip",
            ZIP,
            "“unterlagen.zip” cannot be attached: it is an archive, which is not accepted.",
        ),
        (
            "daten.bin",
            BINARY,
            "“daten.bin” cannot be attached: "
            "only PDF, PNG, JPEG and plain text files are accepted.",
        ),
        ("leer.pdf", b"", "“leer.pdf” cannot be attached: it is empty."),
        (
            "bescheid.txt",
            PDF_BYTES,
            "“bescheid.txt” cannot be attached: its name ends in .txt, but it is a PDF file.",
        ),
        (
            "foto.pdf",
            PNG_BYTES,
            "“foto.pdf” cannot be attached: its name ends in .pdf, but it is a PNG file.",
        ),
    ],
)
def test_forbidden_files_are_refused_with_the_reason(
    send: Callable[..., Message], citizen: User, name: str, content: bytes, reason: str
) -> None:
    assert _refused(send, citizen, [upload(name, content)]) == [reason]


def test_every_refused_file_gets_its_own_reason(
    send: Callable[..., Message], citizen: User
) -> None:
    assert _refused(
        send, citizen, [pdf(), upload("a.pdf", EXE), pdf("ok.pdf"), upload("b.svg", SVG)]
    ) == [
        "“a.pdf” cannot be attached: it is a program, which is not accepted.",
        "“b.svg” cannot be attached: HTML, SVG and other markup are not accepted.",
    ]


def test_a_file_over_10_mb_is_refused(send: Callable[..., Message], citizen: User) -> None:
    big = PDF_BYTES + b"0" * (MAX_FILE_BYTES + 1 - len(PDF_BYTES))
    assert _refused(send, citizen, [pdf("gross.pdf", big)]) == [
        "“gross.pdf” cannot be attached: it is larger than 10 MB."
    ]


def test_a_file_of_exactly_10_mb_is_accepted(send: Callable[..., Message], citizen: User) -> None:
    exact = PDF_BYTES + b"0" * (MAX_FILE_BYTES - len(PDF_BYTES))
    message = send(citizen, kind="information", attachments=[pdf("genau.pdf", exact)])
    assert message.attachments.get().size == MAX_FILE_BYTES


def test_more_than_20_mb_per_message_is_refused(
    send: Callable[..., Message], citizen: User
) -> None:
    seven_mb = PDF_BYTES + b"0" * (7 * 1024 * 1024)
    assert _refused(send, citizen, [pdf(f"teil{n}.pdf", seven_mb) for n in range(3)]) == [
        "All files of one message together may have at most 20 MB."
    ]


def test_more_than_ten_files_are_refused(send: Callable[..., Message], citizen: User) -> None:
    assert _refused(send, citizen, [pdf(f"seite{n}.pdf") for n in range(11)]) == [
        "At most 10 files can be attached to one message; you chose 11."
    ]


def test_accepted_files_are_stored_by_content_type_under_a_random_name(
    send: Callable[..., Message], citizen: User
) -> None:
    text = "Grüße aus dem Rathaus\n".encode()
    message = send(
        citizen,
        kind="information",
        attachments=[
            pdf("Bescheid 2026.pdf"),
            upload("foto.PNG", PNG_BYTES, "application/octet-stream"),
            upload("scan.jpeg", JPEG_BYTES, "image/png"),
            upload("../../etc/notiz.txt", text, "text/html"),
        ],
    )
    stored = list(message.attachments.order_by("pk"))
    # The type comes from the content, never from what the browser claimed
    assert [(a.original_name, a.content_type, a.size) for a in stored] == [
        ("Bescheid 2026.pdf", "application/pdf", len(PDF_BYTES)),
        ("foto.PNG", "image/png", len(PNG_BYTES)),
        ("scan.jpeg", "image/jpeg", len(JPEG_BYTES)),
        ("notiz.txt", "text/plain", len(text)),
    ]
    assert [a.sha256 for a in stored] == [
        hashlib.sha256(content).hexdigest() for content in (PDF_BYTES, PNG_BYTES, JPEG_BYTES, text)
    ]
    for attachment in stored:
        # Under a random name that tells nothing about the message or the file
        name = attachment.file.name
        assert name.startswith("postfach/")
        assert len(name) == len("postfach/") + 32 + 1 + 32
        assert attachment.original_name.split(".")[0] not in name
        with default_storage.open(name) as handle:
            assert hashlib.sha256(handle.read()).hexdigest() == attachment.sha256


@pytest.mark.parametrize(
    ("raw", "content_type", "expected"),
    [
        ("C:\\Users\\erika\\bescheid.pdf", "application/pdf", "bescheid.pdf"),
        ("bescheid", "application/pdf", "bescheid.pdf"),
        ("ohne-endung.", "text/plain", "ohne-endung.txt"),
        ("a\x00b\nc.pdf", "application/pdf", "a_b_c.pdf"),
        ('"<img src=x>".png', "image/png", "__img src=x__.png"),
        ("", "image/jpeg", "anhang.jpg"),
        ("x" * 300 + ".pdf", "application/pdf", "x" * 146 + ".pdf"),
    ],
)
def test_names_lose_folders_and_control_characters(
    raw: str, content_type: str, expected: str
) -> None:
    assert safe_name(raw, content_type) == expected


def test_a_failed_send_leaves_no_files_behind(
    send: Callable[..., Message], citizen: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the announcement fails after the files were stored (e.g. a broken template)
    from rathaus.postfach import services

    def broken(**kwargs: Any) -> None:
        raise RuntimeError("template missing")

    monkeypatch.setattr(services, "notify", broken)
    saved: list[str] = []
    original = Attachment.file.field.storage.save

    def remember(name: str, content: Any, **kwargs: Any) -> str:
        stored = original(name, content, **kwargs)
        saved.append(stored)
        return stored

    monkeypatch.setattr(Attachment.file.field.storage, "save", remember)
    # When the clerk sends with a file
    with pytest.raises(RuntimeError):
        send(citizen, kind="information", attachments=[pdf()])
    # Then neither the rows nor the file remain
    assert not Message.objects.exists()
    assert len(saved) == 1
    assert not default_storage.exists(saved[0])
