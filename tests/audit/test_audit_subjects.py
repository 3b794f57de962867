"""Events that name a request in `after` (votes, escalations, grant syncs) are found through an indexed
subject table, not by scanning the trail for a JSON key; the chain's hashes do not cover it."""

import importlib
from types import SimpleNamespace

from django.apps import apps as django_apps
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from access import selectors, services
from audit.models import AuditEvent, AuditSubject

GOOD_REASON = "Deploying the billing service for the Q4 release"


def approved_request(cast, sandbox):
    access_request = services.submit_request(
        requester=cast.alice, entitlement=sandbox.developers, justification=GOOD_REASON
    )
    services.approve(request_id=access_request.pk, actor=cast.bob)
    return access_request


def subjects() -> set[tuple[int, str, int]]:
    return set(AuditSubject.objects.values_list("event_id", "subject_type", "subject_id"))


def test_an_event_naming_a_request_is_filed_under_it(cast, sandbox):
    access_request = approved_request(cast, sandbox)

    naming = AuditEvent.objects.filter(after__request=access_request.pk)
    assert naming.exists(), "the vote and the grant name the request"
    assert subjects() == {(event.pk, "access.accessrequest", access_request.pk) for event in naming}


def test_the_timeline_is_read_without_the_json_key(cast, sandbox):
    access_request = approved_request(cast, sandbox)

    with CaptureQueriesContext(connection) as queries:
        timelines = selectors.timelines_for([access_request])

    assert len(queries) == 1
    assert "audit_auditsubject" in queries[0]["sql"] and '"after"' not in queries[0]["sql"].split("WHERE", 1)[1]
    actions = [event.action for event in timelines[access_request.pk]]
    assert actions[0] == "request.submitted" and "approval.approved" in actions and "grant.desired_present" in actions


def test_the_chain_still_verifies_with_subjects_beside_it(cast, sandbox, capsys):
    approved_request(cast, sandbox)
    assert AuditSubject.objects.exists()

    call_command("verify_audit")

    assert "events verified" in capsys.readouterr().out


def test_the_data_migration_files_events_written_before_the_table(cast, sandbox):
    access_request = approved_request(cast, sandbox)
    written = subjects()
    AuditSubject.objects.all().delete()  # as before migration audit 0007

    fill = importlib.import_module("audit.migrations.0007_fill_audit_subjects").fill
    fill(django_apps, SimpleNamespace(connection=connection))  # the one thing it reads of its schema editor

    assert subjects() == written and any(row[2] == access_request.pk for row in written)
    timeline = selectors.timelines_for([access_request])[access_request.pk]
    assert "approval.approved" in [event.action for event in timeline]
