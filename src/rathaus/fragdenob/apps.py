from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class FragdenobConfig(AppConfig):
    name = "rathaus.fragdenob"
    label = "fragdenob"
    verbose_name = _("Ask the mayor (Frag den OB)")
