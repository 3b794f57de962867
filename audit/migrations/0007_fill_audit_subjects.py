"""Fill the subject table for events written before it existed (their `after` names a request).

Set-based on PostgreSQL (one INSERT ... SELECT: seconds over a million events, and it reads the trail
without locking writers out: INSERT takes no lock on audit_auditevent beyond a read). The keys are those
`access` registers today (`register_subject_key("request", "access.accessrequest")`), fixed here as a
migration must not import the app's code. The event rows are not touched (they are append-only).
"""

from django.db import migrations

KEYS = {"request": "access.accessrequest"}


def fill(apps, schema_editor):
    connection = schema_editor.connection
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            for key, object_type in KEYS.items():
                cursor.execute(
                    "INSERT INTO audit_auditsubject (event_id, subject_type, subject_id) "
                    "SELECT id, %s, (after ->> %s)::bigint FROM audit_auditevent "
                    "WHERE jsonb_typeof(after -> %s) = 'number' "
                    "AND NOT EXISTS (SELECT 1 FROM audit_auditsubject s WHERE s.event_id = audit_auditevent.id "
                    "AND s.subject_type = %s)",
                    [object_type, key, key, object_type],
                )
        return
    AuditEvent = apps.get_model("audit", "AuditEvent")
    AuditSubject = apps.get_model("audit", "AuditSubject")
    for key, object_type in KEYS.items():
        rows = []
        for event_id, after in AuditEvent.objects.filter(after__has_key=key).values_list("pk", "after").iterator():
            value = after.get(key)
            if isinstance(value, int) and not isinstance(value, bool):
                rows.append(AuditSubject(event_id=event_id, subject_type=object_type, subject_id=value))
        AuditSubject.objects.bulk_create(rows, batch_size=1000)


def empty(apps, schema_editor):
    apps.get_model("audit", "AuditSubject").objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [("audit", "0006_audit_subject")]
    operations = [migrations.RunPython(fill, empty)]
