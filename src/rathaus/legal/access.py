"""The one place that scopes legal pages to the asking municipality and user."""

from django.core.exceptions import PermissionDenied

from rathaus.accounts.models import User
from rathaus.core.access import is_staff_of, one_or_404
from rathaus.core.models import Municipality
from rathaus.legal.models import LegalPage


def legal_page_for_public(*, municipality: Municipality, kind: str) -> LegalPage:
    return one_or_404(LegalPage.objects.filter(municipality=municipality, kind=kind))


def legal_page_for_editor(*, user: User, municipality: Municipality, page_id: int) -> LegalPage:
    """A page the staff member may edit: their municipality's, with the change permission."""
    if not (is_staff_of(user, municipality) and user.has_perm("legal.change_legalpage")):
        raise PermissionDenied
    return one_or_404(LegalPage.objects.filter(municipality=municipality, pk=page_id))
