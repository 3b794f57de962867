"""Adding or removing an index of a large table without stopping its writers (docs/operations.md, "At a
company's size").

`CREATE INDEX` blocks every INSERT and UPDATE of the table while it builds (a minute over 200,000 grants on
a busy machine); PostgreSQL's `CREATE INDEX CONCURRENTLY` does not. Django's `AddIndexConcurrently` is
PostgreSQL-only, and the portal also runs on SQLite (`make run`, the tests' second pass): this one builds
concurrently on PostgreSQL and plainly elsewhere. Its migration must say `atomic = False`. Kept in the lowest
layer so any app's migration may use it.
"""

from django.contrib.postgres.operations import AddIndexConcurrently, RemoveIndexConcurrently
from django.db.migrations.operations import AddIndex, RemoveIndex


class AddIndexWithoutLocking(AddIndexConcurrently):
    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            return super().database_forwards(app_label, schema_editor, from_state, to_state)
        return AddIndex.database_forwards(self, app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            return super().database_backwards(app_label, schema_editor, from_state, to_state)
        return AddIndex.database_backwards(self, app_label, schema_editor, from_state, to_state)


class RemoveIndexWithoutLocking(RemoveIndexConcurrently):
    """`DROP INDEX CONCURRENTLY` on PostgreSQL (a plain DROP INDEX waits for, then blocks, the table's
    writers), a plain removal elsewhere."""

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            return super().database_forwards(app_label, schema_editor, from_state, to_state)
        return RemoveIndex.database_forwards(self, app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            return super().database_backwards(app_label, schema_editor, from_state, to_state)
        return RemoveIndex.database_backwards(self, app_label, schema_editor, from_state, to_state)
