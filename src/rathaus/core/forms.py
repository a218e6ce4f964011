"""Helpers for server-rendered forms."""

from django import forms

from rathaus.core.errors import ApplicationError


def form_show_error(form: forms.BaseForm, error: ApplicationError) -> int:
    """Show a service's refusal in ``form``: on each field it names that the form has,
    the rest above the form. Returns the HTTP status for the page."""
    if not error.fields:
        form.add_error(None, str(error.message))
    for name, problems in error.fields.items():
        for problem in problems:
            form.add_error(name if name in form.fields else None, str(problem))
    return error.status
