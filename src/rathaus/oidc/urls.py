from django.urls import path

from rathaus.oidc import views

app_name = "oidc"

urlpatterns = [
    path("anmelden/oidc/<slug:provider>/", views.start, name="start"),
    path("anmelden/oidc/<slug:provider>/callback/", views.callback, name="callback"),
    path("anmelden/vertrauensniveau/", views.step_up, name="step_up"),
]
