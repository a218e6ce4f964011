from django.apps import AppConfig


class DevIdpConfig(AppConfig):
    name = "rathaus.devidp"
    label = "devidp"
    verbose_name = "Development identity provider (TEST ONLY)"
