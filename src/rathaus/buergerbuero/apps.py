from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class BuergerbueroConfig(AppConfig):
    name = "rathaus.buergerbuero"
    label = "buergerbuero"
    verbose_name = _("Citizen office (Bürgerbüro)")
