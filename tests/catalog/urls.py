"""The project's routes plus the catalogue API, for tests until the root URLconf wires it
(``rathaus/urls.py`` is the lead's file; the report asks for the include line)."""

from django.urls import include, path

from rathaus.catalog.apis import api_urlpatterns
from rathaus.urls import handler400, handler403, handler404, handler500
from rathaus.urls import urlpatterns as root

urlpatterns = [path("api/v1/", include(api_urlpatterns)), *root]

__all__ = ["handler400", "handler403", "handler404", "handler500", "urlpatterns"]
