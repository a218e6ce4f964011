"""``rathaus einvoice``: validate files, install rule artefacts, run the SMTP receiver."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from rathaus.einvoice import engine
from rathaus.einvoice.kosit import KNOWN_RELEASES, ArtefactError, release_install


class Command(BaseCommand):
    help = "E-Rechnung: validate invoices, install validator configurations, receive e-mail."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        validate = sub.add_parser("validate", help="Validate files as the KoSIT validator does.")
        validate.add_argument("files", nargs="+")
        validate.add_argument("--json", action="store_true", help="One JSON object per line.")
        artefacts = sub.add_parser("artefacts", help="Check or download the rule artefacts.")
        artefacts.add_argument("--download", action="store_true")
        smtp = sub.add_parser("smtp", help="Receive invoices by SMTP (one invoice per mail).")
        smtp.add_argument("--host", default="127.0.0.1")
        smtp.add_argument("--port", type=int, default=2525)
        smtp.add_argument("--municipality", required=True, help="slug of the receiving tenant")

    def handle(self, *args: Any, **options: Any) -> None:
        action = options["action"]
        if action == "validate":
            sys.exit(self._validate(options["files"], as_json=options["json"]))
        if action == "artefacts":
            self._artefacts(download=options["download"])
        if action == "smtp":
            from rathaus.einvoice.smtp import smtp_serve

            smtp_serve(host=options["host"], port=options["port"], slug=options["municipality"])

    def _validate(self, files: list[str], *, as_json: bool) -> int:
        from rathaus.einvoice.documents import NoInvoiceInPdf, pdf_invoice_extract, pdf_is
        from rathaus.einvoice.kosit.validator import Message, ValidationResult

        try:
            validator = engine.validator()
        except ArtefactError as error:
            raise CommandError(str(error)) from error
        all_accepted = True
        for name in files:
            try:
                data = Path(name).read_bytes()
            except OSError as error:
                result = ValidationResult(
                    False, None, messages=[Message("IO", "error", str(error))]
                )
            else:
                if pdf_is(data):
                    try:
                        data = pdf_invoice_extract(data, max_bytes=50 * 1024 * 1024)[1]
                    except NoInvoiceInPdf as error:
                        data = b""
                        result = ValidationResult(
                            False, None, messages=[Message("PDF-NO-INVOICE", "error", str(error))]
                        )
                if data:
                    result = validator.validate(data, max_bytes=50 * 1024 * 1024)
            all_accepted = all_accepted and result.accepted
            if as_json:
                self.stdout.write(json.dumps(result.as_line(name), ensure_ascii=False))
            else:
                verdict = "accepted" if result.accepted else "REJECTED"
                self.stdout.write(f"{name}: {verdict} ({result.scenario or 'no scenario'})")
                for message in result.messages:
                    if message.level in ("error", "warning"):
                        self.stdout.write(f"  {message.level} {message.code}: {message.text}")
        return 0 if all_accepted else 1

    def _artefacts(self, *, download: bool) -> None:
        for release in KNOWN_RELEASES:
            if download:
                path = release_install(release, source_dir=engine.artefacts_dir())
                self.stdout.write(f"installed {path}")
        try:
            installed = engine.installed_releases()
        except ArtefactError as error:
            raise CommandError(str(error)) from error
        for release, root in installed:
            self.stdout.write(f"{release.key}: {root}")
