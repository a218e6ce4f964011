"""PDF documents of an application: the acknowledgement of receipt and the notice.

Both are rendered from Django text templates (``applications/pdf/receipt.txt`` in the
citizen's language, ``applications/pdf/notice.txt`` in German, the official language,
§ 23 VwVfG) into a small line format, then laid out with fpdf2 (pure Python):

- ``# text``: the title; ``## text``: a heading; ``| label | value``: a row of facts;
- an empty line: some space; anything else: a paragraph.

fpdf2's core fonts (Helvetica) cover Latin-1, so German umlauts and ß print; characters
outside it are replaced (the euro sign by "EUR", typographic quotes and dashes by their
plain forms).
"""

from __future__ import annotations

from datetime import datetime

from django.template.loader import render_to_string
from fpdf import FPDF

_REPLACEMENTS = {
    "\u20ac": "EUR",
    "\u2013": "-",
    "\u2014": "-",
    "\u201e": '"',
    "\u201c": '"',
    "\u201d": '"',
    "\u201a": "'",
    "\u2018": "'",
    "\u2019": "'",
    "\u2026": "...",
    "\u00a0": " ",
    "\u202f": " ",
    "\u2022": "-",
}


def latin1(text: str) -> str:
    """``text`` in the characters the PDF core fonts have."""
    for old, new in _REPLACEMENTS.items():
        text = text.replace(old, new)
    return text.encode("latin-1", errors="replace").decode("latin-1")


class _Document(FPDF):
    def __init__(self, *, header_text: str, footer_text: str) -> None:
        super().__init__(format="A4")
        self.header_text = header_text
        self.footer_text = footer_text
        self.set_auto_page_break(auto=True, margin=20)
        self.set_margins(20, 20, 20)

    def header(self) -> None:
        self.set_font("Helvetica", "", 9)
        self.set_text_color(80, 80, 80)
        self.cell(0, 5, latin1(self.header_text), new_x="LMARGIN", new_y="NEXT")
        self.ln(4)
        self.set_text_color(0, 0, 0)

    def footer(self) -> None:
        self.set_y(-15)
        self.set_font("Helvetica", "", 8)
        self.set_text_color(80, 80, 80)
        self.cell(0, 5, latin1(f"{self.footer_text}  {self.page_no()}/{{nb}}"), align="C")


def render_lines(
    markup: str, *, title: str, header_text: str, footer_text: str, created: datetime
) -> bytes:
    """Lay out the line format (module docstring) as a PDF and return its bytes."""
    pdf = _Document(header_text=header_text, footer_text=footer_text)
    pdf.set_title(latin1(title))
    pdf.set_creator("rathaus")
    pdf.set_creation_date(created)
    pdf.add_page()
    width = pdf.w - pdf.l_margin - pdf.r_margin
    for raw in markup.splitlines():
        line = raw.rstrip()
        if not line.strip():
            pdf.ln(3)
            continue
        if line.startswith("# "):
            pdf.set_font("Helvetica", "B", 16)
            pdf.multi_cell(0, 8, latin1(line[2:].strip()), new_x="LMARGIN", new_y="NEXT")
            pdf.ln(2)
        elif line.startswith("## "):
            pdf.ln(2)
            pdf.set_font("Helvetica", "B", 12)
            pdf.multi_cell(0, 6, latin1(line[3:].strip()), new_x="LMARGIN", new_y="NEXT")
        elif line.startswith("|"):
            parts = [part.strip() for part in line.strip().strip("|").split("|", 1)]
            label, value = [*parts, ""][:2]
            pdf.set_font("Helvetica", "B", 10)
            y = pdf.get_y()
            pdf.multi_cell(width * 0.38, 5, latin1(label), new_x="RIGHT", new_y="TOP")
            label_bottom = pdf.get_y()
            pdf.set_xy(pdf.l_margin + width * 0.4, y)
            pdf.set_font("Helvetica", "", 10)
            pdf.multi_cell(width * 0.6, 5, latin1(value or "-"), new_x="LMARGIN", new_y="NEXT")
            pdf.set_y(max(pdf.get_y(), label_bottom, y + 5))
        else:
            pdf.set_font("Helvetica", "", 10)
            pdf.multi_cell(0, 5, latin1(line.strip()), new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


def template_pdf(
    template: str,
    context: dict[str, object],
    *,
    title: str,
    header_text: str,
    footer_text: str,
    created: datetime,
) -> bytes:
    """Render a text template into the line format and lay it out as a PDF."""
    markup = render_to_string(template, context)
    return render_lines(
        markup, title=title, header_text=header_text, footer_text=footer_text, created=created
    )
