"""Top-level routes. Every app brings its own ``urls.py`` (pages) and ``apis.py`` (API)."""

from django.urls import include, path
from django.views.i18n import set_language

from rathaus.catalog.apis import api_urlpatterns as catalog_api
from rathaus.core import views as core_views
from rathaus.legal.apis import api_urlpatterns as legal_api

api_v1 = [
    path("", include("rathaus.api.urls")),
    path("", include(legal_api)),
    path("", include(catalog_api)),
]

urlpatterns = [
    path("healthz", core_views.healthz, name="healthz"),
    path("readyz", core_views.readyz, name="readyz"),
    path("metrics", core_views.metrics_view, name="metrics"),
    path("branding.css", core_views.branding_css, name="branding_css"),
    path("logo", core_views.logo, name="logo"),
    path("sprache/", set_language, name="set_language"),
    path("api/v1/", include(api_v1)),
    path("", include("rathaus.accounts.urls")),
    path("", include("rathaus.audit.urls")),
    path("", include("rathaus.notifications.urls")),
    path("", include("rathaus.organisation.urls")),
    path("", include("rathaus.workflow.urls")),
    path("", include("rathaus.oidc.urls")),
    path("", include("rathaus.devidp.urls")),
    path("", include("rathaus.legal.urls")),
    path("", include("rathaus.catalog.urls")),
    path("", include("rathaus.postfach.urls")),
    path("", include("rathaus.applications.urls")),
    path("", include("rathaus.backoffice.urls")),
    path("", include("rathaus.kiosk.urls")),
    path("", include("rathaus.portal.urls")),
]

handler400 = "rathaus.core.views.bad_request"
handler403 = "rathaus.core.views.permission_denied"
handler404 = "rathaus.core.views.page_not_found"
handler500 = "rathaus.core.views.server_error"
