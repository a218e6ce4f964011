"""What the terminal pickup keeps, and for how long.

Fingerprint template reference, PIN digest and the terminal contact (mobile number or
e-mail) are only needed until the document is handed over or back at the counter. The
rule ``idpickup.terminal_data`` clears them from every order whose terminal part ended
(pickup, return, cancellation) before the cutoff: by default at the next nightly run
(0 days); each order's deletion is audited (``idpickup.terminal_data.deleted``) besides
the platform's ``retention.applied``. The order itself (kind, status, timeline) is the
record of the handover of an official document and stays with the registration office's
records.
"""

from rathaus.idpickup.models import IdOrder
from rathaus.idpickup.services import terminal_data_erase
from rathaus.privacy import retention

retention.register(
    retention.RetentionRule(
        key="idpickup.terminal_data",
        model=IdOrder,
        date_field="terminal_closed_at",
        default_days=0,
        action="anonymise",
        anonymise=terminal_data_erase,
        only={"terminal_data_deleted_at__isnull": True, "terminal_opt_in": True},
    )
)
