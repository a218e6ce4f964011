"""Tickets as PDF for 58 mm and 80 mm receipt printers, and QR codes (segno)."""

from __future__ import annotations

import io

import segno
from django.utils import translation
from django.utils.translation import gettext as _
from fpdf import FPDF

from rathaus.buergerbuero.models import Ticket
from rathaus.buergerbuero.selectors import BERLIN

WIDTHS = (58, 80)


def qr_svg(data: str, *, scale: int = 4) -> str:
    """An SVG QR code (no inline style: allowed by the strict CSP)."""
    out = io.BytesIO()
    segno.make(data, error="m").save(
        out, kind="svg", scale=scale, xmldecl=False, svgns=True, nl=False, title=None
    )
    return out.getvalue().decode()


def ticket_pdf(*, ticket: Ticket, status_url: str, width: int = 80) -> bytes:
    """One ticket: number, office, time, estimated call, QR code of the status page."""
    if width not in WIDTHS:
        width = 80
    margin = 3
    pdf = FPDF(unit="mm", format=(width, 120))
    pdf.set_auto_page_break(False)
    pdf.set_margins(margin, margin, margin)
    pdf.add_page()
    inner = width - 2 * margin
    with translation.override(ticket.language):
        pdf.set_font("helvetica", "B", 11)
        pdf.multi_cell(inner, 5, _latin(ticket.office.location.name), align="C")
        pdf.set_font("helvetica", "", 9)
        pdf.cell(inner, 5, _latin(_("Your number")), align="C", new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("helvetica", "B", 36 if width == 80 else 28)
        pdf.cell(inner, 16, ticket.number, align="C", new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("helvetica", "", 9)
        drawn = ticket.arrived_at.astimezone(BERLIN)
        pdf.cell(
            inner,
            5,
            _latin(_("Drawn %(time)s") % {"time": drawn.strftime("%d.%m.%Y %H:%M")}),
            align="C",
            new_x="LMARGIN",
            new_y="NEXT",
        )
        if ticket.estimated_call_at:
            expected = ticket.estimated_call_at.astimezone(BERLIN).strftime("%H:%M")
            pdf.cell(
                inner,
                5,
                _latin(_("Expected call about %(time)s") % {"time": expected}),
                align="C",
                new_x="LMARGIN",
                new_y="NEXT",
            )
        services = ", ".join(s.name for s in ticket.services.all())
        pdf.multi_cell(inner, 4, _latin(services), align="C")
        png = io.BytesIO()
        segno.make(status_url, error="m").save(png, kind="png", scale=6, border=2)
        png.seek(0)
        size = min(inner, 36)
        pdf.image(png, x=(width - size) / 2, y=pdf.get_y() + 2, w=size, h=size)
        pdf.set_y(pdf.get_y() + size + 4)
        pdf.multi_cell(inner, 4, _latin(_("Scan to follow your place in the queue.")), align="C")
    return bytes(pdf.output())


def _latin(text: str) -> str:
    # The core fonts speak Latin-1 (all German letters); anything else is replaced.
    return str(text).encode("latin-1", "replace").decode("latin-1")
