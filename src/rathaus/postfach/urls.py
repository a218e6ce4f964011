from django.urls import path

from rathaus.postfach import views

app_name = "postfach"

urlpatterns = [
    path("konto/postfach/", views.inbox, name="inbox"),
    path("konto/postfach/<int:message_id>/", views.message_detail, name="message"),
    path("konto/postfach/<int:message_id>/antworten/", views.message_reply, name="reply"),
    path(
        "konto/postfach/<int:message_id>/anhang/<int:attachment_id>/",
        views.attachment_download,
        name="attachment",
    ),
    path("verwaltung/postfach/", views.staff_list, name="staff_list"),
    path("verwaltung/postfach/neu/", views.staff_compose, name="staff_compose"),
    path("verwaltung/postfach/zustellung/", views.follow_up_list, name="follow_up_list"),
    path(
        "verwaltung/postfach/zustellung/<int:follow_up_id>/",
        views.follow_up_detail,
        name="follow_up",
    ),
    path("verwaltung/postfach/<int:message_id>/", views.staff_message, name="staff_message"),
    path(
        "verwaltung/postfach/<int:message_id>/anhang/<int:attachment_id>/",
        views.staff_attachment,
        name="staff_attachment",
    ),
]
