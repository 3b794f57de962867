"""On PostgreSQL, TRUNCATE of the audit events is refused like UPDATE and DELETE (migration 0002).

Row triggers never fire for TRUNCATE: it needs a statement trigger of its own. The chain head is
covered too, so the trail cannot be emptied and restarted from #1 through the application's connection.
"""

from django.db import migrations

CREATE = """
CREATE OR REPLACE FUNCTION audit_refuse_truncate() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'audit trail is append-only: TRUNCATE refused on %', TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER audit_event_refuse_truncate
    BEFORE TRUNCATE ON audit_auditevent
    FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_truncate();
CREATE TRIGGER audit_chain_head_refuse_truncate
    BEFORE TRUNCATE ON audit_auditchainhead
    FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_truncate();
"""
DROP = """
DROP TRIGGER IF EXISTS audit_event_refuse_truncate ON audit_auditevent;
DROP TRIGGER IF EXISTS audit_chain_head_refuse_truncate ON audit_auditchainhead;
DROP FUNCTION IF EXISTS audit_refuse_truncate();
"""


def create_trigger(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        with schema_editor.connection.cursor() as cursor:
            cursor.execute(CREATE)


def drop_trigger(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        with schema_editor.connection.cursor() as cursor:
            cursor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [("audit", "0003_chain_checks")]
    operations = [migrations.RunPython(create_trigger, drop_trigger)]
