"""Governance → People's search of one or two letters served by indexes (access.filters.PeopleFilter.search).

A trigram index needs three letters. Shorter searches match the start of a name or an email address,
`UPPER(column::text) LIKE UPPER('zq%')` as Django writes `istartswith`: a B-tree on that expression with
`text_pattern_ops` serves it whatever the database's collation. Built concurrently, so a populated users
table keeps taking writes; PostgreSQL only and outside the models' state, as migration 0007's trigram
indexes (SQLite compares the few people of `make run` directly).
"""

from django.db import migrations

INDEXES = {"user_name_prefix": "full_name", "user_email_prefix": "email"}


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        quote = schema_editor.quote_name
        for name, column in INDEXES.items():
            schema_editor.execute(
                f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {quote(name)} ON accounts_user "
                f"(UPPER({quote(column)}::text) text_pattern_ops)"
            )


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for name in INDEXES:
            schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {schema_editor.quote_name(name)}")


class Migration(migrations.Migration):
    atomic = False  # CREATE INDEX CONCURRENTLY cannot run inside a transaction

    dependencies = [("accounts", "0007_people_console_indexes")]

    operations = [migrations.RunPython(create, drop, elidable=False)]
