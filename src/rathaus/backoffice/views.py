from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from rathaus.accounts.decorators import staff_required
from rathaus.audit.services import audit_record
from rathaus.backoffice.forms import MunicipalityForm
from rathaus.core.errors import ApplicationError
from rathaus.core.http import client_address
from rathaus.core.services import municipality_update
from rathaus.core.tenancy import request_municipality


@staff_required()
@require_http_methods(["GET", "HEAD"])
def dashboard(request: HttpRequest) -> HttpResponse:
    """The staff start page ("Verwaltung")."""
    return render(request, "backoffice/dashboard.html")


@staff_required("core.change_municipality")
@require_http_methods(["GET", "HEAD", "POST"])
def municipality_edit(request: HttpRequest) -> HttpResponse:
    """Contact data, branding and deadlines of the municipality."""
    municipality = request_municipality(request)
    initial = {
        "name": municipality.name,
        "email": municipality.email,
        "phone": municipality.phone,
        "address": municipality.address,
        "primary_colour": municipality.primary_colour,
    }
    form = MunicipalityForm(
        request.POST or None, request.FILES or None, initial=initial, municipality=municipality
    )
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            try:
                municipality_update(
                    municipality=municipality,
                    contact={name: data[name] for name in ["name", "email", "phone", "address"]},
                    primary_colour=data["primary_colour"],
                    logo=data.get("logo"),
                    remove_logo=data["remove_logo"],
                    settings=form.settings_values(),
                )
            except ApplicationError as error:
                for field, problems in error.fields.items():
                    target = (
                        field if field in form.fields else MunicipalityForm.setting_field(field)
                    )
                    for problem in problems:
                        form.add_error(target if target in form.fields else None, problem)
            else:
                audit_record(
                    municipality=municipality,
                    action="core.municipality.updated",
                    actor=request.user,
                    target=municipality,
                    ip=client_address(request),
                )
                messages.success(request, _("The settings were saved."))
                return redirect("backoffice:municipality")
        return render(request, "backoffice/municipality.html", {"form": form}, status=400)
    return render(request, "backoffice/municipality.html", {"form": form})
