from typing import Any

from django.db import migrations

import rathaus.core.sealed


def seal_existing(apps: Any, schema_editor: Any) -> None:
    # The historical model reads the plain values as they are and seals them on save.
    User = apps.get_model("accounts", "User")
    for user in User.objects.exclude(totp_secret="").only("pk", "totp_secret"):
        user.save(update_fields=["totp_secret"])


def unseal_existing(apps: Any, schema_editor: Any) -> None:
    User = apps.get_model("accounts", "User")
    table = schema_editor.quote_name(User._meta.db_table)
    with schema_editor.connection.cursor() as cursor:
        for user in User.objects.exclude(totp_secret="").only("pk", "totp_secret"):
            cursor.execute(
                f"UPDATE {table} SET totp_secret = %s WHERE id = %s",  # noqa: S608
                [user.totp_secret, user.pk],
            )


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0004_consent_purpose_label"),
    ]

    operations = [
        migrations.AlterField(
            model_name="user",
            name="totp_secret",
            field=rathaus.core.sealed.SealedCharField(blank=True, editable=False, max_length=64),
        ),
        migrations.RunPython(seal_existing, unseal_existing),
    ]
