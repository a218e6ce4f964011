"""Pages of Frag den OB.

Public (``/frag-den-ob/``): the list with search and filters, permanent question pages,
asking (with similar questions while typing, via htmx, and as a list after a plain
submit), the codex with its figures, the statistics, the Atom feed of answers and the
one-click unfollow. Staff (``/verwaltung/frag-den-ob/``): the moderation queue and log,
one question's moderation, election freezes, standard replies. Answers are drafted and
approved in the workflow task inbox (``mayor_question`` process).
"""

from __future__ import annotations

from typing import Any, cast

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import feedgenerator, timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from rathaus.accounts.models import User
from rathaus.accounts.trust import TrustLevel, session_trust_level
from rathaus.core import charts
from rathaus.core.errors import ApplicationError
from rathaus.core.forms import form_show_error
from rathaus.core.http import client_address
from rathaus.core.municipal_settings import municipal_setting
from rathaus.core.tenancy import request_municipality
from rathaus.fragdenob import access, limits, selectors, services, suggestions
from rathaus.fragdenob.forms import FreezeForm, ModerationForm, QuestionForm, StandardReplyForm
from rathaus.fragdenob.models import MANAGE, MODERATE, ElectionFreeze, ModerationDecision, Question
from rathaus.oidc.links import step_up_url
from rathaus.organisation.decorators import staff_member_required
from rathaus.organisation.permissions import user_can_anywhere

PAGE_SIZE = 20
PAGE_PARAMETER = "seite"


def _user(request: HttpRequest) -> User:
    return cast(User, request.user)


def _page(request: HttpRequest, items: Any) -> Any:
    return Paginator(items, PAGE_SIZE).get_page(request.GET.get(PAGE_PARAMETER))


def _param(request: HttpRequest, name: str, max_chars: int = 200) -> str:
    value = request.GET.get(name, "")
    return value[:max_chars].replace("\x00", "")


def _form_kwargs(request: HttpRequest, *, follow_up: bool = False) -> dict[str, Any]:
    municipality = request_municipality(request)
    return {
        "municipality": municipality,
        "title_max": municipal_setting(municipality, limits.QUESTION_MAX),
        "background_max": municipal_setting(municipality, limits.BACKGROUND_MAX),
        "follow_up": follow_up,
    }


# --- public ------------------------------------------------------------------------------


@require_GET
def question_list(request: HttpRequest) -> HttpResponse:
    """Published questions: search, topic, district and status filters, newest or top."""
    municipality = request_municipality(request)
    filters = {
        "query": _param(request, "q"),
        "topic": _param(request, "thema", 60),
        "district": _param(request, "stadtteil", 60),
        "status": _param(request, "status", 20),
        "order": "top" if request.GET.get("sortierung") == "top" else "new",
    }
    questions = selectors.questions_public(municipality=municipality, **filters)
    period = {"7": 7, "90": 90}.get(request.GET.get("zeitraum", ""), 30)
    page = _page(request, questions)
    query = request.GET.copy()
    query.pop(PAGE_PARAMETER, None)
    return render(
        request,
        "fragdenob/list.html",
        {
            "page_obj": page,
            "filters": filters,
            "query_string": query.urlencode(),
            "topics": selectors.topics_active(municipality=municipality),
            "districts": selectors.districts(municipality=municipality),
            "top": selectors.questions_top(municipality=municipality, days=period),
            "period": period,
            "periods": (7, 30, 90),
            "freeze": selectors.freeze_current(municipality=municipality),
        },
    )


@require_GET
def question_detail(request: HttpRequest, question_id: int) -> HttpResponse:
    """The permanent page of a published question."""
    municipality = request_municipality(request)
    question = access.question_for_public(municipality=municipality, question_id=question_id)
    user = request.user
    supported = following = False
    if user.is_authenticated:
        supported = question.supports.filter(user_id=user.pk).exists()
        following = question.follows.filter(user_id=user.pk).exists()
    follow_ups = question.follow_ups.filter(status__in=Question.PUBLIC)
    return render(
        request,
        "fragdenob/detail.html",
        {
            "question": question,
            "supported": supported,
            "following": following,
            "support_open": question.support_until is not None
            and timezone.now() <= question.support_until,
            "is_author": user.is_authenticated and question.author_id == user.pk,
            "can_follow_up": user.is_authenticated
            and question.author_id == user.pk
            and not question.follow_ups.exists(),
            "follow_ups": follow_ups,
        },
    )


@login_required
@require_POST
def question_support(request: HttpRequest, question_id: int) -> HttpResponse:
    """Support a question, or take the support back (``action=withdraw``)."""
    municipality = request_municipality(request)
    question = access.question_for_public(municipality=municipality, question_id=question_id)
    try:
        if request.POST.get("action") == "withdraw":
            services.support_withdraw(question=question, user=_user(request))
            messages.success(request, _("Your support has been withdrawn."))
        else:
            services.support_add(question=question, user=_user(request))
            messages.success(request, _("Thank you for your support."))
    except ApplicationError as error:
        return render(
            request,
            "fragdenob/refused.html",
            {"question": question, "message": error.message},
            status=error.status,
        )
    return redirect("fragdenob:detail", question.pk)


@login_required
@require_POST
def question_follow(request: HttpRequest, question_id: int) -> HttpResponse:
    """Follow a question (told about its answer and follow-up), or stop following."""
    municipality = request_municipality(request)
    question = access.question_for_public(municipality=municipality, question_id=question_id)
    if request.POST.get("action") == "unfollow":
        services.follow_remove(question=question, user=_user(request))
        messages.success(request, _("You no longer follow this question."))
    else:
        try:
            services.follow_add(question=question, user=_user(request))
        except ApplicationError as error:
            messages.error(request, str(error.message))
            return redirect("fragdenob:detail", question.pk)
        messages.success(request, _("You will be told when this question is answered."))
    return redirect("fragdenob:detail", question.pk)


def _trust_gate(request: HttpRequest) -> HttpResponseRedirect | None:
    required = municipal_setting(request_municipality(request), limits.TRUST_LEVEL)
    if session_trust_level(request) < required:
        return HttpResponseRedirect(
            step_up_url(level=TrustLevel(required), next_url=request.get_full_path())
        )
    return None


def _similar(request: HttpRequest, title: str, background: str) -> list[Any]:
    return suggestions.similar_questions(
        municipality=request_municipality(request), text=f"{title}\n{background}"
    )


@login_required
@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def question_ask(request: HttpRequest, question_id: int | None = None) -> HttpResponse:
    """Ask a question (or, with ``question_id``, the one follow-up to one's own question).

    A plain submit first shows similar published questions; the citizen confirms with
    a second submit (``confirmed``). With JavaScript they appear while typing (htmx)."""
    municipality = request_municipality(request)
    parent = None
    if question_id is not None:
        parent = access.question_for_author(
            user=request.user, municipality=municipality, question_id=question_id
        )
        if not parent.is_public:
            return redirect("fragdenob:mine")
    if (gate := _trust_gate(request)) is not None:
        return gate
    user = _user(request)
    freeze = selectors.freeze_current(municipality=municipality)
    form = QuestionForm(request.POST or None, **_form_kwargs(request, follow_up=parent is not None))
    if parent is None:
        # Similar questions while typing (htmx); without JavaScript, after the first submit.
        live = {
            "hx-get": reverse("fragdenob:suggest"),
            "hx-trigger": "input changed delay:400ms",
            "hx-target": "#fdob-similar",
            "hx-include": "[name=title],[name=background]",
            "hx-sync": "this:replace",
        }
        form.fields["title"].widget.attrs.update(live)
        form.fields["background"].widget.attrs.update(live)
    similar: list[Any] = []
    status = 200
    if request.method == "POST" and freeze is None:
        status = 400
        if form.is_valid():
            data = form.cleaned_data
            if parent is None and request.POST.get("confirmed") != "1":
                similar = _similar(request, data["title"], data["background"])
            if similar:
                status = 200
            else:
                try:
                    question = services.question_submit(
                        municipality=municipality,
                        author=user,
                        title=data["title"],
                        background=data["background"],
                        topic=data["topic"].pk if data.get("topic") else None,
                        district=data["district"].pk if data.get("district") else None,
                        trust_level=session_trust_level(request),
                        parent=parent,
                        ip=client_address(request),
                    )
                except ApplicationError as error:
                    status = form_show_error(form, error)
                else:
                    messages.success(
                        request,
                        _("Thank you. The moderators check your question before it is published."),
                    )
                    return redirect("fragdenob:mine_detail", question.pk)
    return render(
        request,
        "fragdenob/ask.html",
        {"form": form, "similar": similar, "parent": parent, "freeze": freeze},
        status=status,
    )


@require_GET
def question_suggest(request: HttpRequest) -> HttpResponse:
    """The htmx fragment of similar published questions for the text typed so far."""
    similar = _similar(request, _param(request, "title", 1000), _param(request, "background", 1000))
    return render(request, "fragdenob/_similar.html", {"similar": similar})


@login_required
@require_GET
def my_questions(request: HttpRequest) -> HttpResponse:
    """The citizen's own questions in every state."""
    municipality = request_municipality(request)
    questions = selectors.questions_of_author(user=request.user).filter(municipality=municipality)
    return render(request, "fragdenob/mine.html", {"page_obj": _page(request, questions)})


@login_required
@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def my_question(request: HttpRequest, question_id: int) -> HttpResponse:
    """One's own question: its state, the moderators' note, and editing until publication."""
    municipality = request_municipality(request)
    question = access.question_for_author(
        user=request.user, municipality=municipality, question_id=question_id
    )
    editable = question.status in Question.EDITABLE
    initial = {
        "title": question.title,
        "background": question.background,
        "topic": question.topic_id,
        "district": question.district_id,
    }
    form = QuestionForm(
        request.POST or None,
        initial=initial,
        **_form_kwargs(request, follow_up=question.parent_id is not None),
    )
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            data = form.cleaned_data
            try:
                services.question_update(
                    question=question,
                    author=_user(request),
                    title=data["title"],
                    background=data["background"],
                    topic=data["topic"].pk if data.get("topic") else None,
                    district=data["district"].pk if data.get("district") else None,
                )
            except ApplicationError as error:
                status = form_show_error(form, error)
            else:
                messages.success(request, _("Your question has been sent to the moderators again."))
                return redirect("fragdenob:mine_detail", question.pk)
    return render(
        request,
        "fragdenob/mine_detail.html",
        {
            "question": question,
            "decision": selectors.latest_decision(question),
            "form": form,
            "editable": editable,
        },
        status=status,
    )


@require_GET
def codex(request: HttpRequest) -> HttpResponse:
    """The published moderation codex and how often each rule led to a rejection."""
    municipality = request_municipality(request)
    services.codex_ensure(municipality=municipality)
    return render(
        request,
        "fragdenob/codex.html",
        {
            "rules": selectors.codex_rules(municipality=municipality),
            "figures": selectors.codex_figures(municipality=municipality),
        },
    )


def _days(value: float | None) -> str:
    return (
        "\u2013"
        if value is None
        else f"{value:.1f}".replace(".", "," if get_language() == "de" else ".")
    )


@require_GET
def statistics(request: HttpRequest) -> HttpResponse:
    """Answer rate, time to answer, open questions by age, per topic and per month."""
    municipality = request_municipality(request)
    figures = selectors.statistics(municipality=municipality)
    months = [row.month.strftime("%m/%y") for row in figures.by_month]
    month_chart = charts.bar_chart(
        title=_("Questions published and answered per month"),
        description=_("Bars per month: published questions and answers."),
        labels=months,
        series=[
            charts.Series(_("published"), [r.published for r in figures.by_month]),
            charts.Series(_("answered"), [r.answered for r in figures.by_month]),
        ],
    )
    age_chart = charts.bar_chart(
        title=_("Open questions by age in days"),
        description=_("Bars per age group: questions not answered yet."),
        labels=[label for label, _count in figures.open_by_age],
        series=[
            charts.Series(_("still open"), [c for _l, c in figures.open_by_age], "chart-bar-muted")
        ],
    )
    return render(
        request,
        "fragdenob/statistics.html",
        {
            "figures": figures,
            "rate": None if figures.answer_rate is None else round(figures.answer_rate * 100),
            "median": _days(figures.median_days),
            "p90": _days(figures.p90_days),
            "month_chart": month_chart,
            "age_chart": age_chart,
        },
    )


@require_GET
def answers_feed(request: HttpRequest) -> HttpResponse:
    """Atom feed of the newest answers."""
    municipality = request_municipality(request)
    feed = feedgenerator.Atom1Feed(
        title=_("Ask the mayor: new answers, %(town)s") % {"town": municipality.name},
        link=request.build_absolute_uri(reverse("fragdenob:list")),
        description=_("Newest answers of the mayor to citizens' questions."),
        language=get_language() or "de",
        feed_url=request.build_absolute_uri(),
    )
    for question in selectors.answers_recent(municipality=municipality):
        link = request.build_absolute_uri(reverse("fragdenob:detail", args=[question.pk]))
        feed.add_item(
            title=question.title,
            link=link,
            description=question.answer,
            unique_id=link,
            pubdate=question.answered_at,
            updateddate=question.answered_at,
            categories=[question.topic.name_de],
        )
    response = HttpResponse(content_type="application/atom+xml; charset=utf-8")
    feed.write(response, "utf-8")
    return response


@csrf_exempt  # the signed token is the authority; mail clients POST without a form (RFC 8058)
@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def unfollow(request: HttpRequest, token: str) -> HttpResponse:
    """One-click unfollow from a notification: the page's one button (or a mail client's
    RFC 8058 POST) ends the follow; a plain GET changes nothing (link scanners)."""
    municipality = request_municipality(request)
    done = False
    question = None
    if request.method == "POST":
        question = services.unfollow_by_token(municipality=municipality, token=token)
        done = True
    elif not services.unfollow_token_valid(token):
        raise Http404
    return render(request, "fragdenob/unfollow.html", {"done": done, "question": question})


# --- staff -------------------------------------------------------------------------------


@staff_member_required(MODERATE)
@require_GET
def moderation_queue(request: HttpRequest) -> HttpResponse:
    """Questions waiting for moderation, oldest first, and the latest decisions."""
    municipality = request_municipality(request)
    log = (
        ModerationDecision.objects.filter(municipality=municipality)
        .select_related("question", "rule", "moderator")
        .order_by("-created_at", "-pk")[:50]
    )
    return render(
        request,
        "fragdenob/staff_queue.html",
        {
            "page_obj": _page(request, selectors.moderation_queue(municipality=municipality)),
            "log": log,
            "can_manage": user_can_anywhere(user=request.user, permission=MANAGE),
        },
    )


@staff_member_required(MODERATE)
@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def moderation_detail(request: HttpRequest, question_id: int) -> HttpResponse:
    """One question: publish, reject with a codex rule, ask for a rephrase, or merge."""
    municipality = request_municipality(request)
    question = access.question_for_moderator(
        user=request.user, municipality=municipality, question_id=question_id
    )
    services.codex_ensure(municipality=municipality)
    form = ModerationForm(request.POST or None, municipality=municipality)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            data, moderator = form.cleaned_data, _user(request)
            rule = data["rule"].pk if data.get("rule") else None
            try:
                if data["action"] == "publish":
                    services.question_publish(question=question, moderator=moderator)
                elif data["action"] == "reject":
                    services.question_reject(
                        question=question, moderator=moderator, rule=rule, note=data["note"]
                    )
                elif data["action"] == "rephrase":
                    services.question_rephrase_request(
                        question=question, moderator=moderator, rule=rule, note=data["note"]
                    )
                else:
                    into = selectors.question_public(
                        municipality=municipality, question_id=data.get("into") or 0
                    )
                    if into is None:
                        form.add_error("into", _("Give the number of a published question."))
                        raise _FormInvalid
                    services.question_merge(
                        question=question, into=into, moderator=moderator, note=data["note"]
                    )
            except ApplicationError as error:
                status = form_show_error(form, error)
            except _FormInvalid:
                pass
            else:
                messages.success(request, _("The decision has been saved and the author told."))
                return redirect("fragdenob:staff_queue")
    return render(
        request,
        "fragdenob/staff_detail.html",
        {
            "question": question,
            "form": form,
            "decisions": question.decisions.select_related("rule", "moderator"),
            "similar": _similar(request, question.title, question.background)
            if question.status == Question.Status.PENDING
            else [],
            "standard_form": StandardReplyForm(initial={"standard": question.answer_is_standard}),
            "can_manage": user_can_anywhere(user=request.user, permission=MANAGE),
        },
        status=status,
    )


class _FormInvalid(Exception):
    pass


@staff_member_required(MANAGE)
@require_POST
def answer_standard(request: HttpRequest, question_id: int) -> HttpResponse:
    """Mark an answer as a standard reply, or unmark it."""
    municipality = request_municipality(request)
    question = access.question_for_office(
        user=request.user, municipality=municipality, question_id=question_id
    )
    form = StandardReplyForm(request.POST)
    form.is_valid()
    try:
        services.answer_standard_mark(
            question=question, user=_user(request), standard=bool(form.cleaned_data.get("standard"))
        )
    except ApplicationError as error:
        messages.error(request, str(error.message))
    else:
        messages.success(request, _("Saved."))
    return redirect("fragdenob:staff_detail", question.pk)


@staff_member_required(MANAGE)
@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def freezes(request: HttpRequest) -> HttpResponse:
    """Election freezes: list and add."""
    municipality = request_municipality(request)
    form = FreezeForm(request.POST or None)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                services.freeze_create(
                    municipality=municipality, user=_user(request), **form.cleaned_data
                )
            except ApplicationError as error:
                status = form_show_error(form, error)
            else:
                messages.success(request, _("The election freeze has been saved."))
                return redirect("fragdenob:staff_freezes")
    return render(
        request,
        "fragdenob/staff_freezes.html",
        {
            "form": form,
            "freezes": ElectionFreeze.objects.filter(municipality=municipality),
        },
        status=status,
    )


@staff_member_required(MANAGE)
@require_POST
def freeze_delete(request: HttpRequest, freeze_id: int) -> HttpResponse:
    freeze = access.freeze_for_office(
        user=request.user, municipality=request_municipality(request), freeze_id=freeze_id
    )
    services.freeze_delete(freeze=freeze, user=_user(request))
    messages.success(request, _("The election freeze has been removed."))
    return redirect("fragdenob:staff_freezes")
