"""The navigation bar's query is compiled once and run with each person's key (portal.person_query): it must
be exactly the query the selectors build for that person, whoever they are."""

import pytest
from django.db.models import F
from django.urls import clear_script_prefix, reverse, set_script_prefix
from django.utils import timezone

from access import services
from access.models import ApprovalAssignment
from notifications.models import Notification
from portal.context_processors import NAVIGATION, navigation_facts
from portal.person_query import PersonQuery
from portal.templatetags.navigation import fixed_url


def test_the_compiled_query_is_the_one_built_for_each_member_of_the_cast(cast):
    """Employee, manager, owner, auditor, governance admin (who also sees the shared votes), and a person
    signed in as staff only: each gets the SQL and parameters a fresh build gives them."""
    cast.carol.is_staff = True
    cast.carol.save(update_fields=["is_staff"])
    for person in (cast.alice, cast.bob, cast.carol, cast.dave, cast.erin, cast.frank):
        sql, params = NAVIGATION.sql_for(person)
        built_sql, built_params = navigation_facts(person).query.sql_with_params()

        assert (sql, params) == (built_sql, list(built_params)), person.email
        assert person.pk in params


def test_people_of_the_same_shape_each_get_their_own_badges(cast, client_for, sandbox):
    """Bob and Dave are both managers who are not admins: one compiled query, their own counts."""
    services.submit_request(requester=cast.alice, entitlement=sandbox.developers, justification="Q4 billing work")
    Notification.objects.create(
        recipient=cast.dave, kind=Notification.Kind.REVIEW_DUE, title="Review due", link="/reviews/"
    )

    bob = client_for(cast.bob).get(reverse("access:my_requests")).context
    dave = client_for(cast.dave).get(reverse("access:my_requests")).context

    assert (bob["nav_approvals_waiting"], bob["nav_notifications_unread"]) == (1, 0)
    assert (dave["nav_approvals_waiting"], dave["nav_notifications_unread"]) == (0, 1)
    assert bob["nav_shows_approvals"] is True and dave["nav_shows_approvals"] is True


def test_a_query_that_reads_the_clock_cannot_be_compiled_once(cast):
    """A time read while the query is built would be frozen into every later run."""
    since = PersonQuery(
        lambda person: ApprovalAssignment.objects.filter(approver=person, decided_at__gte=timezone.now())
    )

    with pytest.raises(TypeError, match="depends only on the person's key"):
        since.row(cast.bob)


def test_a_person_whose_row_is_gone_reads_nothing(cast):
    rows = PersonQuery(lambda person: type(person).objects.filter(pk=person.pk).values(twice=F("pk") * 2))
    ghost = type(cast.alice)(pk=cast.alice.pk + 1000, email="ghost@example.com")

    assert rows.row(cast.alice) == {"twice": cast.alice.pk * 2}
    assert rows.row(ghost) is None


def test_the_bars_links_are_reversed_once_and_follow_the_script_prefix(client_for, cast):
    """Served under /portal/ (a proxy's SCRIPT_NAME), the bar's links carry the prefix; at the root, not."""
    assert fixed_url("access:catalog") == reverse("access:catalog") == "/catalog/"
    set_script_prefix("/portal/")
    try:
        assert fixed_url("access:catalog") == "/portal/catalog/"
    finally:
        clear_script_prefix()
    assert fixed_url("access:catalog") == "/catalog/"

    page = client_for(cast.erin).get(reverse("access:my_requests")).content.decode()
    for name in ("access:catalog", "access:inbox", "audit:events", "admin:index", "account_logout"):
        assert f'href="{reverse(name)}"' in page or f'action="{reverse(name)}"' in page, name


def test_the_approvals_badge_counts_each_waiting_request_once_by_the_inbox_rule(cast, client_for, sandbox):
    """Erin, a governance admin, is named on a stage that also has the admins' shared vote (one request, not
    two), named on a later stage that is not active yet and shares the vote on a request she made herself
    (neither counts): the badge is the number of distinct requests of `pending_assignments_for`."""
    from access.selectors import pending_assignments_for

    alices = services.submit_request(
        requester=cast.alice, entitlement=sandbox.developers, justification="Q4 billing work"
    )
    stage = alices.approvals.get()
    ApprovalAssignment.objects.create(approval=stage, approver=cast.erin, reason="Named")
    ApprovalAssignment.objects.create(approval=stage, approver=None, reason="Any governance admin")
    later = alices.approvals.create(step=stage.step + 1, label="Security", required=1)
    ApprovalAssignment.objects.create(approval=later, approver=cast.erin, reason="Named on a waiting stage")
    erins = services.submit_request(
        requester=cast.erin, entitlement=sandbox.developers, justification="Own sandbox work"
    )
    ApprovalAssignment.objects.get_or_create(  # she has no manager: the admins' shared vote may be there already
        approval=erins.approvals.get(), approver=None, defaults={"reason": "Any governance admin"}
    )

    badge = client_for(cast.erin).get(reverse("access:my_requests")).context["nav_approvals_waiting"]

    assert badge == pending_assignments_for(cast.erin).values("approval__request_id").distinct().count() == 1
