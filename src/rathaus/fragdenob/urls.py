"""Pages of the moderated public dialogue between citizens and the mayor."""

from django.urls import path

from rathaus.fragdenob import views

app_name = "fragdenob"

urlpatterns = [
    path("frag-den-ob/", views.question_list, name="list"),
    path("frag-den-ob/fragen/", views.question_ask, name="ask"),
    path("frag-den-ob/aehnliche/", views.question_suggest, name="suggest"),
    path("frag-den-ob/meine/", views.my_questions, name="mine"),
    path("frag-den-ob/meine/<int:question_id>/", views.my_question, name="mine_detail"),
    path("frag-den-ob/kodex/", views.codex, name="codex"),
    path("frag-den-ob/statistik/", views.statistics, name="statistics"),
    path("frag-den-ob/antworten.atom", views.answers_feed, name="feed"),
    path("frag-den-ob/abbestellen/<str:token>/", views.unfollow, name="unfollow"),
    path("frag-den-ob/<int:question_id>/", views.question_detail, name="detail"),
    path(
        "frag-den-ob/<int:question_id>/unterstuetzen/",
        views.question_support,
        name="support",
    ),
    path("frag-den-ob/<int:question_id>/folgen/", views.question_follow, name="follow"),
    path("frag-den-ob/<int:question_id>/nachfrage/", views.question_ask, name="follow_up"),
    path("verwaltung/frag-den-ob/", views.moderation_queue, name="staff_queue"),
    path(
        "verwaltung/frag-den-ob/<int:question_id>/",
        views.moderation_detail,
        name="staff_detail",
    ),
    path(
        "verwaltung/frag-den-ob/<int:question_id>/standardantwort/",
        views.answer_standard,
        name="staff_standard",
    ),
    path("verwaltung/frag-den-ob/wahlruhe/", views.freezes, name="staff_freezes"),
    path(
        "verwaltung/frag-den-ob/wahlruhe/<int:freeze_id>/loeschen/",
        views.freeze_delete,
        name="staff_freeze_delete",
    ),
]
