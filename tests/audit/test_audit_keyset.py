"""Frank, an auditor, walks the whole trail by its Older and Newer links: every event once, filters kept, and
the same queries on the first page as on the oldest (a page is a position in the chain, never an OFFSET)."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from audit.models import AuditEvent
from audit.views import PAGE_SIZE
from tests.audit.test_audit_pages import listed, write_events

LINK = re.compile(r'href="\?([^"]*)" rel="(prev|next)"')


def links(response) -> dict[str, str]:
    """The page's Newer (prev) and Older (next) links, as query strings."""
    return {rel: query.replace("&amp;", "&") for query, rel in LINK.findall(response.content.decode())}


def walk_older(client, query: str = "") -> list[list[int]]:
    pages = [client.get(f"/audit/?{query}")]
    while "next" in links(pages[-1]):
        assert len(pages) < 20, "the links go round in circles"
        pages.append(client.get(f"/audit/?{links(pages[-1])['next']}"))
    return [listed(page) for page in pages]


def test_older_links_reach_every_event_once_newest_first(client_for, cast, sandbox):
    write_events(sandbox, cast.bob, 2 * PAGE_SIZE + 10)
    everything = list(AuditEvent.objects.order_by("-seq").values_list("seq", flat=True))

    pages = walk_older(client_for(cast.frank))

    assert [len(page) for page in pages] == [PAGE_SIZE, PAGE_SIZE, len(everything) - 2 * PAGE_SIZE]
    assert [seq for page in pages for seq in page] == everything


def test_newer_goes_back_to_the_page_before(client_for, cast, sandbox):
    write_events(sandbox, cast.bob, 3 * PAGE_SIZE)
    frank = client_for(cast.frank)
    first = frank.get("/audit/")
    second = frank.get(f"/audit/?{links(first)['next']}")
    third = frank.get(f"/audit/?{links(second)['next']}")

    back = frank.get(f"/audit/?{links(third)['prev']}")

    assert listed(back) == listed(second)
    assert "prev" not in links(first), "the newest page has nothing newer"
    assert "Newest" in third.content.decode()
    assert f"Events #{listed(second)[0]} to #{listed(second)[-1]}" in second.content.decode()


def test_the_links_keep_the_filters(client_for, cast, sandbox):
    write_events(sandbox, cast.bob, PAGE_SIZE + 5)
    write_events(sandbox, cast.carol, PAGE_SIZE + 5)
    frank = client_for(cast.frank)

    pages = walk_older(frank, f"actor={cast.bob.email}")

    bobs = AuditEvent.objects.filter(actor=cast.bob).order_by("-seq").values_list("seq", flat=True)
    assert [seq for page in pages for seq in page] == list(bobs)


def test_a_deep_page_runs_the_same_queries_as_the_first(client_for, cast, sandbox, django_assert_num_queries):
    write_events(sandbox, cast.bob, 4 * PAGE_SIZE)
    frank = client_for(cast.frank)
    first = frank.get("/audit/")
    with CaptureQueriesContext(connection) as on_the_first:
        frank.get("/audit/")
    oldest = AuditEvent.objects.order_by("seq").values_list("seq", flat=True)[PAGE_SIZE // 2]

    with django_assert_num_queries(len(on_the_first)):
        deep = frank.get(f"/audit/?before={oldest}")

    assert deep.status_code == 200 and first.status_code == 200
    read = [query["sql"] for query in on_the_first.captured_queries if "OFFSET" in query["sql"]]
    assert read == [], "no page is read by skipping rows"


@pytest.mark.parametrize(
    "query",
    [
        "before=abc",
        "before=-5",
        "before=" + "9" * 30,  # past 64 bits
        "after=%EF%BC%91",  # a full-width digit one, which str.isdigit() takes
        "before=5&after=3",
    ],
)
def test_a_link_that_is_not_ours_lists_nothing_and_says_so(client_for, cast, sandbox, query):
    write_events(sandbox, cast.bob, 3)

    response = client_for(cast.frank).get(f"/audit/?{query}")

    assert response.status_code == 400
    assert listed(response) == []
    assert "That page link could not be read" in response.content.decode()


def test_a_nul_byte_in_a_link_is_refused_before_the_page(client_for, cast, sandbox):
    write_events(sandbox, cast.bob, 3)

    response = client_for(cast.frank).get("/audit/?before=1%002")

    assert response.status_code == 400
    assert "not allowed (NUL)" in response.content.decode()


def test_a_link_past_the_end_shows_nothing_and_a_way_back(client_for, cast, sandbox):
    write_events(sandbox, cast.bob, 3)

    response = client_for(cast.frank).get("/audit/?before=1")

    assert response.status_code == 200 and listed(response) == []
    assert "No events match." in response.content.decode()
    assert "Newest" in response.content.decode()


@pytest.mark.parametrize("query", ["", "before=5", "after=1"])
def test_nobody_else_reads_a_page_of_the_log_by_its_link(client_for, cast, sandbox, query):
    write_events(sandbox, cast.bob, 3)

    for person in (cast.alice, cast.bob, cast.carol):
        assert client_for(person).get(f"/audit/?{query}").status_code == 403
