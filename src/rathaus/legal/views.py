from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from rathaus.accounts.decorators import staff_required
from rathaus.accounts.models import User
from rathaus.core.errors import ApplicationError
from rathaus.core.forms import form_show_error
from rathaus.core.http import client_address
from rathaus.core.tenancy import request_municipality
from rathaus.legal import access, selectors, services
from rathaus.legal.forms import FeedbackForm, LegalPageForm
from rathaus.legal.models import LegalPage


def _page(request: HttpRequest, kind: str, extra: dict[str, object] | None = None) -> HttpResponse:
    page = access.legal_page_for_public(municipality=request_municipality(request), kind=kind)
    return render(request, "legal/page.html", {"page": page, **(extra or {})})


@require_http_methods(["GET", "HEAD"])
def imprint(request: HttpRequest) -> HttpResponse:
    return _page(request, LegalPage.Kind.IMPRINT)


@require_http_methods(["GET", "HEAD"])
def privacy(request: HttpRequest) -> HttpResponse:
    return _page(request, LegalPage.Kind.PRIVACY)


@require_http_methods(["GET", "HEAD", "POST"])
def accessibility(request: HttpRequest) -> HttpResponse:
    """The statement with its feedback form; htmx swaps in just the form on submit."""
    municipality = request_municipality(request)
    form = FeedbackForm(
        request.POST or None, initial={"page_url": request.GET.get("seite", "")[:500]}
    )
    sent = False
    status = 200
    if request.method == "POST":
        if form.is_valid() and not form.cleaned_data["website"]:
            try:
                services.feedback_submit(
                    municipality=municipality,
                    message=form.cleaned_data["message"],
                    email=form.cleaned_data["email"],
                    page_url=form.cleaned_data["page_url"],
                    client_key=client_address(request),
                )
            except ApplicationError as error:
                form.add_error(None, str(error.message))
                status = error.status
            else:
                sent = True
                form = FeedbackForm()
        elif form.is_valid():
            sent = True  # a bot: pretend success, store nothing
            form = FeedbackForm()
        else:
            status = 400
    context = {"form": form, "sent": sent}
    if request.htmx:  # type: ignore[attr-defined]
        return render(request, "legal/_feedback_form.html", context, status=status)
    response = _page(request, LegalPage.Kind.ACCESSIBILITY, context)
    response.status_code = status
    return response


@staff_required("legal.change_legalpage")
@require_http_methods(["GET", "HEAD"])
def backoffice_list(request: HttpRequest) -> HttpResponse:
    municipality = request_municipality(request)
    return render(
        request,
        "legal/backoffice_list.html",
        {
            "pages": selectors.legal_page_list(municipality=municipality),
            "feedback": selectors.feedback_list(municipality=municipality)[:50],
        },
    )


@staff_required("legal.change_legalpage")
@require_http_methods(["GET", "HEAD", "POST"])
def backoffice_edit(request: HttpRequest, page_id: int) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    page = access.legal_page_for_editor(
        user=user, municipality=request_municipality(request), page_id=page_id
    )
    form = LegalPageForm(request.POST or None, instance=page)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            try:
                services.legal_page_update(
                    page=LegalPage.objects.get(pk=page.pk),
                    title_de=data["title_de"],
                    title_en=data["title_en"],
                    body_de=data["body_de"],
                    body_en=data["body_en"],
                    conformance=data.get("conformance", ""),
                    prepared_on=data.get("prepared_on"),
                    feedback_email=data.get("feedback_email", ""),
                    arbitration_name=data.get("arbitration_name", ""),
                    arbitration_url=data.get("arbitration_url", ""),
                )
            except ApplicationError as error:
                status = form_show_error(form, error)
            else:
                messages.success(request, _("The page was saved."))
                return redirect("legal:backoffice_list")
        else:
            status = 400
    return render(
        request, "legal/backoffice_edit.html", {"form": form, "page": page}, status=status
    )
