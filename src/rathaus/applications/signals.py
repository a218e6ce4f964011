"""Housekeeping: a deleted document's file leaves the storage too."""

from typing import Any

from django.db import transaction
from django.db.models.signals import post_delete
from django.dispatch import receiver

from rathaus.applications.models import Document


@receiver(post_delete, sender=Document)
def document_file_delete(sender: type[Document], instance: Document, **kwargs: Any) -> None:
    """Remove the file once the deletion is committed (a rollback keeps it)."""
    if instance.file:
        name, storage = instance.file.name, instance.file.storage
        transaction.on_commit(lambda: storage.delete(name))
