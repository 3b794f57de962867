"""Governance → People's search and its few-people filters served by indexes, built concurrently on
PostgreSQL so a populated users table keeps taking writes meanwhile.

Leavers, auditors and governance admins are few, and the page lists them in name order: each filter
has a partial index in that order, read to the page's end, where the whole table was read and sorted
(80 ms for the leavers among 200,000 people).

The search (any part of a name or an email address, `icontains`) uses trigram indexes on PostgreSQL.

`UPPER(column) LIKE UPPER('%text%')` cannot use a B-tree: at 20,000 people each search read the whole
table (23 ms for "alice", and ten times that at 200,000). With these GIN indexes PostgreSQL reads only
the rows sharing the text's trigrams (0.05 ms). The expressions are the ones Django writes for
`icontains`, so the planner matches them.

PostgreSQL only, and outside the models' state: SQLite (`make run`, the tests' second pass) has no GIN
index, and would try to build one each time a later migration remakes the users table from the state.
`pg_trgm` is a trusted extension (PostgreSQL 13 and later): the database's owner may create it.
"""

from django.contrib.postgres.operations import TrigramExtension
from django.db import migrations, models

from inputs.migration_ops import AddIndexWithoutLocking


class AddTrigramIndexOnPostgreSQLOnly(migrations.operations.base.Operation):
    """`CREATE INDEX CONCURRENTLY ... USING gin (UPPER(column) gin_trgm_ops)` on PostgreSQL, nothing
    elsewhere, and no change to the models' state. Written out rather than as `AddIndexConcurrently` of a
    `GinIndex(OpClass(Upper(...)))`: Django only places an OpClass after the expression when
    `django.contrib.postgres` is an installed app, which the portal (also on SQLite) does not need."""

    reversible = True

    def __init__(self, table, column, name):
        self.table, self.column, self.name = table, column, name

    def deconstruct(self):
        return self.__class__.__name__, [], {"table": self.table, "column": self.column, "name": self.name}

    def state_forwards(self, app_label, state):
        pass

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            quote = schema_editor.quote_name
            schema_editor.execute(
                f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {quote(self.name)} ON {quote(self.table)} "
                f"USING gin (UPPER({quote(self.column)}) gin_trgm_ops)"
            )

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {schema_editor.quote_name(self.name)}")

    def describe(self):
        return f"Create trigram index {self.name} on {self.table}.{self.column} (PostgreSQL only)"


class Migration(migrations.Migration):
    atomic = False  # CREATE INDEX CONCURRENTLY cannot run inside a transaction

    dependencies = [("accounts", "0006_feed_runs")]

    operations = [
        AddIndexWithoutLocking(
            model_name="user",
            index=models.Index(
                fields=["full_name", "email"], condition=models.Q(employment_status="leaver"), name="leavers_by_name"
            ),
        ),
        AddIndexWithoutLocking(
            model_name="user",
            index=models.Index(
                fields=["full_name", "email"],
                condition=models.Q(is_auditor=True, is_active=True),
                name="auditors_by_name",
            ),
        ),
        AddIndexWithoutLocking(
            model_name="user",
            index=models.Index(
                fields=["full_name", "email"],
                condition=models.Q(is_superuser=True, is_active=True),
                name="admins_by_name",
            ),
        ),
        TrigramExtension(),  # does nothing on SQLite
        AddTrigramIndexOnPostgreSQLOnly(table="accounts_user", column="full_name", name="user_name_trigrams"),
        AddTrigramIndexOnPostgreSQLOnly(table="accounts_user", column="email", name="user_email_trigrams"),
    ]
