"""Notification texts from templates, in the recipient's language.

Any app can bring templates for its notifications under
``<app>/templates/notifications/<template>/``:

- ``subject.txt`` and ``body.txt`` for e-mail and in-app messages (plain text, not
  escaped), ``body.html`` optionally for an HTML part of the e-mail (escaped as usual);
- ``sms.txt`` for text messages, at most ``SMS_MAX_CHARS`` characters once rendered.

Texts are translated with ``{% translate %}`` / ``{% blocktranslate %}`` under the
recipient's language. A language can instead bring a whole text of its own in
``notifications/<template>/<language>/``; if that folder has the channel's main text
(``body.txt``, or ``sms.txt``), all parts for that channel come from it. Long texts
that a legal department reviews read better as one piece than as catalogue fragments.
"""

import re
from dataclasses import dataclass
from typing import Any

from django.template import Context, Engine, TemplateDoesNotExist
from django.utils import translation

from rathaus.notifications.models import Channel

# One text message: 160 characters of the GSM 7-bit alphabet. Longer texts are split and
# billed per part; a notification that needs more should be an e-mail or in-app message.
SMS_MAX_CHARS = 160
SUBJECT_MAX_CHARS = 255
TEMPLATE_NAME = re.compile(r"^[a-z0-9_]{1,100}$")


class NotificationTemplateError(Exception):
    """A notification template that cannot be used as it is (a programming error)."""


@dataclass(frozen=True)
class Rendered:
    subject: str
    body: str
    body_html: str = ""


def _folder(engine: Engine, template: str, language: str, main_part: str) -> str:
    """The language's own folder if it has the channel's main text, else the shared one.

    Decided once per channel, so that an e-mail never mixes parts of two languages.
    """
    own = f"notifications/{template}/{language}/"
    try:
        engine.get_template(own + main_part)
    except TemplateDoesNotExist:
        return f"notifications/{template}/"
    return own


def _render(
    engine: Engine,
    name: str,
    context: dict[str, Any],
    *,
    html: bool = False,
    required: bool = True,
) -> str:
    try:
        compiled = engine.get_template(name)
    except TemplateDoesNotExist:
        if required:
            raise
        return ""
    # Plain-text parts are not HTML: escaping would turn "&" into "&amp;" in the mail.
    return compiled.render(Context(context, autoescape=html))


def notification_render(
    *, template: str, channel: str, context: dict[str, Any], language: str
) -> Rendered:
    """Render ``template`` for ``channel`` in ``language``.

    Raises ``TemplateDoesNotExist`` for a missing part, ``ValueError`` for a malformed
    template name and ``NotificationTemplateError`` for a text message that does not
    fit into one SMS.
    """
    if not TEMPLATE_NAME.match(template):
        raise ValueError(f"invalid notification template name {template!r}")
    engine = Engine.get_default()
    with translation.override(language):
        if channel == Channel.SMS:
            folder = _folder(engine, template, language, "sms.txt")
            raw = _render(engine, folder + "sms.txt", context)
            # Lines are kept; the blank lines and indentation that template tags leave are not.
            text = "\n".join(" ".join(line.split()) for line in raw.splitlines() if line.strip())
            if len(text) > SMS_MAX_CHARS:
                raise NotificationTemplateError(
                    f"the text message of {template!r} has {len(text)} characters; "
                    f"at most {SMS_MAX_CHARS} fit into one SMS"
                )
            return Rendered(subject="", body=text)
        # One line: a line break in a header would end it (or inject another).
        folder = _folder(engine, template, language, "body.txt")
        subject = " ".join(_render(engine, folder + "subject.txt", context).split())
        if len(subject) > SUBJECT_MAX_CHARS:
            subject = subject[: SUBJECT_MAX_CHARS - 1] + "…"
        body = _render(engine, folder + "body.txt", context).strip() + "\n"
        body_html = ""
        if channel == Channel.EMAIL:
            body_html = _render(
                engine, folder + "body.html", context, html=True, required=False
            ).strip()
        return Rendered(subject=subject, body=body, body_html=body_html)
