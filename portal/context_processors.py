from django.contrib.auth import get_user_model
from django.db.models import F, IntegerField, QuerySet, Subquery, Sum
from django.db.models.functions import Coalesce
from django.http import HttpRequest

from access.selectors import waiting_request_of_each_vote
from access.views.cart import cart_ids
from accounts.roles import menu_facts, menus_from
from notifications import selectors as notification_selectors
from portal.person_query import PersonQuery
from reviews import selectors as review_selectors

# The pages under the Governance menu: whole apps, and the governance pages of the apps everyone uses.
GOVERNANCE_APPS = {"sod", "iam", "posture", "audit"}
GOVERNANCE_PAGES = {
    "reviews": {"campaigns", "campaign_new", "campaign_edit", "campaign_preview", "campaign"},
    "access": {"entitlements", "entitlement_edit", "people", "person", "leaver"},
}


def in_governance(request: HttpRequest) -> bool:
    match = getattr(request, "resolver_match", None)
    if match is None:
        return False
    return match.app_name in GOVERNANCE_APPS or match.url_name in GOVERNANCE_PAGES.get(match.app_name, ())


def in_django_admin(request: HttpRequest) -> bool:
    match = getattr(request, "resolver_match", None)
    return match is not None and match.app_name == "admin"


# A badge counts to 99 and then says "99+": past that the number tells nobody anything, and counting a
# governance admin's 1,000 waiting requests (ten times a company's size) cost 12-18 ms on each of their pages.
BADGE_CAP = 99


class CountOf(Subquery):
    """How many rows a queryset has, as a scalar subquery (slice the queryset to cap the rows read)."""

    template = "(SELECT COUNT(*) FROM (%(subquery)s) AS counted)"
    output_field = IntegerField()


def capped(rows: QuerySet, column: str) -> CountOf:
    """The distinct values of `column` among `rows`, counted up to BADGE_CAP + 1."""
    return CountOf(rows.order_by().values(column).distinct()[: BADGE_CAP + 1])


class CountPresentOf(Subquery):
    """How many distinct values of `column` among `rows` are not NULL, up to BADGE_CAP + 1, as a scalar
    subquery: for a column that is NULL on the rows that do not count (one NULL at most among distinct values,
    so BADGE_CAP + 2 of them are read)."""

    template = (
        "(SELECT COUNT(*) FROM (SELECT * FROM (%(subquery)s) AS distinct_rows"
        " WHERE distinct_rows.%(column)s IS NOT NULL LIMIT %(cap)s) AS counted)"
    )
    output_field = IntegerField()

    def __init__(self, rows: QuerySet, column: str):
        # Quoted as PostgreSQL and SQLite both read a name: the column is one of our own annotations.
        distinct = rows.order_by().values(column).distinct()[: BADGE_CAP + 2]
        super().__init__(distinct, column=f'"{column}"', cap=BADGE_CAP + 1)


def navigation_facts(user) -> QuerySet:
    """The person's row with their badges and menu facts: built from the selectors that own each rule, and
    compiled once per shape (`NAVIGATION`), since every portal page reads it."""
    return (
        get_user_model()
        .objects.filter(pk=user.pk)
        .values(
            # The distinct requests of `pending_assignments_for`, checked vote by vote (see the selector).
            waiting_approvals=CountPresentOf(waiting_request_of_each_vote(user), "waiting_request"),
            waiting_reviews=Coalesce(
                Subquery(
                    review_selectors.waiting_counters(user)
                    .order_by()
                    .values("reviewer")
                    .annotate(waiting=Sum(F("total") - F("decided")))
                    .values("waiting")
                ),
                0,
            ),
            unread_notifications=capped(notification_selectors.unread_of(user), "pk"),
            **menu_facts(user),
        )
    )


NAVIGATION = PersonQuery(navigation_facts)
BADGES = ("waiting_approvals", "waiting_reviews", "unread_notifications")


def navigation(request: HttpRequest) -> dict[str, object]:
    """Badges in the navigation bar: requests waiting for the person's vote and unread notifications (each
    counted up to BADGE_CAP + 1), review lines waiting for their decision (summed from their counters), and
    whether Approvals and Reviews are shown at all (so an employee who decides nothing is not offered empty
    pages): all read in one query of subqueries, each on its index, since every portal page pays for it.
    The cart size comes from the session.

    None on the Django admin's pages: its templates have their own bar and show none of these."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or in_django_admin(request):
        return {}
    read = NAVIGATION.row(user)
    approves, reviews = menus_from(user, read)
    # Read as the database wrote them: SQLite's EXISTS is 0 or 1, and PostgreSQL's SUM of integers a bigint.
    badges = {name: int((read or {}).get(name) or 0) for name in BADGES}
    return {
        "nav_approvals_waiting": badges["waiting_approvals"],
        "nav_reviews_waiting": badges["waiting_reviews"],
        "nav_shows_approvals": bool(approves) or badges["waiting_approvals"] > 0,
        "nav_shows_reviews": bool(reviews) or badges["waiting_reviews"] > 0,
        "nav_in_governance": in_governance(request),
        "nav_cart_size": len(cart_ids(request)) if hasattr(request, "session") else 0,
        "nav_notifications_unread": badges["unread_notifications"],
    }
