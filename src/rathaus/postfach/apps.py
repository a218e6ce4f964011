from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PostfachConfig(AppConfig):
    name = "rathaus.postfach"
    label = "postfach"
    verbose_name = _("Mailbox (Postfach)")

    def ready(self) -> None:
        from rathaus.postfach import signals  # noqa: F401  (connects the receivers)
