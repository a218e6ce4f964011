from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class FragdenobConfig(AppConfig):
    name = "rathaus.fragdenob"
    label = "fragdenob"
    verbose_name = _("Ask the mayor (Frag den OB)")

    def ready(self) -> None:
        from rathaus.core.municipal_settings import register
        from rathaus.fragdenob import personal_data, retention  # noqa: F401  (registers)
        from rathaus.fragdenob.limits import SPECS

        register(*SPECS)
