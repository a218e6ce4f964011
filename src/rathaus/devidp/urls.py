from django.urls import path

from rathaus.devidp import views

app_name = "devidp"

urlpatterns = [
    path("dev-idp/.well-known/openid-configuration", views.discovery, name="discovery"),
    path("dev-idp/jwks.json", views.jwks, name="jwks"),
    path("dev-idp/authorize", views.authorize, name="authorize"),
    path("dev-idp/token", views.token, name="token"),
    path("dev-idp/userinfo", views.userinfo, name="userinfo"),
]
