"""rathaus.einvoice: the inbox for incoming XRechnung e-invoices."""
