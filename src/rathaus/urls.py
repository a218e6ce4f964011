"""Top-level routes. Every app brings its own ``urls.py`` (pages) and ``apis.py`` (API)."""

from django.urls import include, path
from django.views.i18n import set_language

from rathaus.assistant.apis import api_urlpatterns as assistant_api
from rathaus.buergerbuero.apis import api_urlpatterns as buergerbuero_api
from rathaus.catalog.apis import api_urlpatterns as catalog_api
from rathaus.charging.apis import api_urlpatterns as charging_api
from rathaus.core import views as core_views
from rathaus.einvoice.apis import api_urlpatterns as einvoice_api
from rathaus.fragdenob.apis import api_urlpatterns as fragdenob_api
from rathaus.idpickup.apis import api_urlpatterns as idpickup_api
from rathaus.legal.apis import api_urlpatterns as legal_api
from rathaus.parking.apis import api_urlpatterns as parking_api
from rathaus.traffic.apis import api_urlpatterns as traffic_api

api_v1 = [
    path("", include("rathaus.api.urls")),
    path("", include(legal_api)),
    path("", include(catalog_api)),
    path("", include(buergerbuero_api)),
    path("", include(assistant_api)),
    path("", include(idpickup_api)),
    path("", include(fragdenob_api)),
    path("", include(einvoice_api)),
    path("", include(traffic_api)),
    path("", include(parking_api)),
    path("", include(charging_api)),
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
    path("", include("rathaus.buergerbuero.urls")),
    path("", include("rathaus.assistant.urls")),
    path("", include("rathaus.idpickup.urls")),
    path("", include("rathaus.fragdenob.urls")),
    path("", include("rathaus.einvoice.urls")),
    path("", include("rathaus.traffic.urls")),
    path("", include("rathaus.parking.urls")),
    path("", include("rathaus.charging.urls")),
    path("", include("rathaus.backoffice.urls")),
    path("", include("rathaus.kiosk.urls")),
    path("", include("rathaus.portal.urls")),
]

handler400 = "rathaus.core.views.bad_request"
handler403 = "rathaus.core.views.permission_denied"
handler404 = "rathaus.core.views.page_not_found"
handler500 = "rathaus.core.views.server_error"
