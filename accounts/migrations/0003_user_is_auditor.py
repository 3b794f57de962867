# Auditors: read-only everywhere, never governance admins at the same time.

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0002_leaver_time"),
        ("auth", "0012_alter_user_first_name_max_length"),
    ]

    operations = [
        migrations.AddField(
            model_name="user",
            name="is_auditor",
            field=models.BooleanField(
                db_default=False,
                default=False,
                help_text="Reads every report, campaign and the audit log; changes nothing.",
                verbose_name="auditor",
            ),
        ),
        migrations.AddConstraint(
            model_name="user",
            constraint=models.CheckConstraint(
                condition=models.Q(("is_auditor", True), ("is_superuser", True), _negated=True),
                name="user_auditor_not_admin",
                violation_error_message="An auditor cannot also be a governance admin (superuser).",
            ),
        ),
    ]
