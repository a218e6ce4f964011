from django.urls import path

from rathaus.accounts import views

app_name = "accounts"

urlpatterns = [
    path("anmelden/", views.login_view, name="login"),
    path("anmelden/code/", views.second_factor_view, name="second_factor"),
    path("abmelden/", views.logout_view, name="logout"),
    path("registrieren/", views.register_view, name="register"),
    path("registrieren/bestaetigen/<str:token>/", views.verify_email_view, name="verify_email"),
    path("registrieren/erneut-senden/", views.resend_verification_view, name="resend_verification"),
    path("passwort-vergessen/", views.password_reset_view, name="password_reset"),
    path(
        "passwort-vergessen/<str:token>/",
        views.password_reset_confirm_view,
        name="password_reset_confirm",
    ),
    path("konto/", views.account_view, name="account"),
    path("konto/profil/", views.profile_view, name="profile"),
    path("konto/sicherheit/", views.security_view, name="security"),
    path("konto/sicherheit/zweiter-faktor-aus/", views.totp_disable_view, name="totp_disable"),
    path("konto/bestaetigen/", views.reauth_view, name="reauth"),
    path("konto/einwilligungen/", views.consents_view, name="consents"),
    path("konto/daten/", views.data_view, name="data"),
    path("konto/daten/meine-daten.json", views.data_export_view, name="data_export"),
    path("konto/loeschen/", views.delete_account_view, name="delete"),
]
