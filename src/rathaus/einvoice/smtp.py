"""The SMTP endpoint of the e-invoice mailbox (aiosmtpd), one tenant per listener.

Run as ``rathaus einvoice smtp --municipality SLUG --port 2525`` behind the town's mail
relay (which does TLS, spam and virus filtering). A mail is answered 250 once the invoice
is stored (valid or not: an invalid one is kept and its sender told why), 550/552 with the
reason when it carries no invoice, several invoices, or is too large.
"""

from __future__ import annotations

import time
from typing import Any

from asgiref.sync import sync_to_async

from rathaus.core.errors import ApplicationError, ValidationFailed


class InvoiceMailHandler:
    def __init__(self, municipality_id: int) -> None:
        self.municipality_id = municipality_id

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        raw = envelope.original_content or envelope.content
        if isinstance(raw, str):
            raw = raw.encode("utf-8", "surrogateescape")
        return str(
            await sync_to_async(self._receive, thread_sensitive=False)(
                raw, envelope.mail_from or ""
            )
        )

    def _receive(self, raw: bytes, sender: str) -> str:
        from django.db import close_old_connections

        from rathaus.core.models import Municipality
        from rathaus.einvoice.services import mail_receive

        close_old_connections()
        try:
            municipality = Municipality.objects.get(pk=self.municipality_id)
            invoice = mail_receive(municipality=municipality, raw=raw, sender=sender)
        except ValidationFailed as error:
            code = "552" if error.code == "too_large" else "550"
            return f"{code} {error.message}"
        except ApplicationError as error:  # e.g. the validator is unavailable: retry later
            return f"451 {error.message}"
        except Exception:  # never lose a mail silently: the relay retries on 4xx
            import logging

            logging.getLogger(__name__).exception("e-invoice mail could not be stored")
            return "451 Temporary failure, please retry"
        finally:
            close_old_connections()
        return f"250 OK invoice {invoice.pk}"


def smtp_controller(*, host: str, port: int, municipality_id: int, max_bytes: int) -> Any:
    from aiosmtpd.controller import Controller

    return Controller(
        InvoiceMailHandler(municipality_id),
        hostname=host,
        port=port,
        data_size_limit=max_bytes,
        server_hostname="rathaus-einvoice",
    )


def smtp_serve(*, host: str, port: int, slug: str) -> None:
    """Run the receiver until interrupted."""
    from rathaus.core.models import Municipality
    from rathaus.einvoice.models import Invoice
    from rathaus.einvoice.services import max_bytes

    municipality = Municipality.objects.get(slug=slug)
    controller = smtp_controller(
        host=host,
        port=port,
        municipality_id=municipality.pk,
        max_bytes=max_bytes(municipality, Invoice.Channel.EMAIL) + 64 * 1024,
    )
    controller.start()
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        controller.stop()
