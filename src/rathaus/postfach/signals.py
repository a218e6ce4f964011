"""Housekeeping: a deleted attachment's file leaves the storage too."""

from typing import Any

from django.db import transaction
from django.db.models.signals import post_delete
from django.dispatch import receiver

from rathaus.postfach.models import Attachment


@receiver(post_delete, sender=Attachment)
def attachment_file_delete(sender: type[Attachment], instance: Attachment, **kwargs: Any) -> None:
    """Remove the file once the deletion is committed (a rollback keeps it)."""
    if instance.file:
        name, storage = instance.file.name, instance.file.storage
        transaction.on_commit(lambda: storage.delete(name))
