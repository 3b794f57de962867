"""The evidence pack as PDF: the snapshot auditors can check, every decision, names in any script, who may have it."""

import csv
import hashlib
import io
from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from pypdf import PdfReader

from access.models import Grant
from catalog.models import Entitlement
from reviews import services
from reviews.evidence_pdf import build, unicode_font
from reviews.models import Campaign, ReviewItem


@pytest.fixture
def people(cast, django_user_model):
    """Bob's reports, named in three scripts, beside Alice."""

    def report(email, name):
        return django_user_model.objects.create_user(email=email, full_name=name, manager=cast.bob)

    return [
        report("zoe@example.com", "Zoë Ünal"),
        report("lukasz@example.com", "Łukasz Żółć"),
        report("wang@example.com", "王芳"),
    ]


@pytest.fixture
def launched(cast, sandbox, people):
    """Alice, Carol (no manager: Dave is the fallback) and Bob's three reports hold Developers."""
    for person in [cast.alice, cast.carol, *people]:
        Grant.objects.create(user=person, entitlement=sandbox.developers, source=Grant.Source.ADMIN)
    campaign = Campaign.objects.create(
        name="Q4 review", owner=cast.erin, fallback_reviewer=cast.dave, due_at=timezone.now() + timedelta(days=14)
    )
    return services.launch(campaign_id=campaign.pk, actor=cast.erin)


def as_person(person) -> Client:
    client = Client()
    client.force_login(person)
    return client


def pdf_text(document: bytes) -> tuple[str, int]:
    """The document's words, whitespace (and so the wrapping of cells into lines) collapsed, and its page count."""
    reader = PdfReader(io.BytesIO(document))
    return " ".join(" ".join(page.extract_text() for page in reader.pages).split()), len(reader.pages)


def download(person, campaign) -> bytes:
    response = as_person(person).get(reverse("reviews:evidence_pdf", args=[campaign.pk]))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == f'attachment; filename="review-{campaign.pk}-evidence.pdf"'
    return response.content


def test_the_cover_states_the_population_hash_auditors_recompute_from_the_csv(cast, launched):
    text, _ = pdf_text(download(cast.erin, launched))

    csv_lines = b"".join(as_person(cast.erin).get(reverse("reviews:evidence", args=[launched.pk])).streaming_content)
    recomputed = hashlib.sha256(
        "".join(
            f"{line['holder_id']}:{line['entitlement_id']}\n"
            for line in csv.DictReader(io.StringIO(csv_lines.decode()))
        ).encode()
    ).hexdigest()
    assert recomputed == launched.population_hash
    assert f"Population SHA-256 {launched.population_hash}" in text
    assert "Population 5 lines" in text
    assert "Owner Erin Admin <erin@example.com>" in text
    assert "Reviewer type The holder's manager" in text
    assert "Not signed off yet" in text
    assert "Keep the access: applies at sign-off (5 lines undecided now)" in text
    assert "Generated " in text and " for Erin Admin <erin@example.com>" in text


def test_every_decision_is_listed_with_reviewer_comment_recommendation_and_remediation(cast, launched):
    carol = ReviewItem.objects.get(campaign=launched, holder=cast.carol)
    services.decide(
        campaign_id=launched.pk,
        item_ids=[carol.pk],
        actor=cast.dave,
        decision="revoke",
        comment="Left the platform team in October; see ticket {nb}",
    )
    services.sign_off(campaign_id=launched.pk, actor=cast.erin)

    text, pages = pdf_text(download(cast.erin, launched))

    assert "Left the platform team in October; see ticket {nb}" in text, "typed text is never a page-count alias"
    assert "dave@example.com" in text and "Fallback reviewer: nobody else could review it" in text
    assert "Granted by an administrator without a request" in text, "the recommendation shown"
    assert "Removal pending" in text
    assert "(undecided rule)" in text
    assert "Keep the access: applied at sign-off to 4 lines" in text
    assert "Signed off Erin Admin <erin@example.com> on " in text
    for figure in ("Revoked by reviewers 1", "Kept by the undecided rule 4", "Removals pending 1"):
        assert figure in text
    assert f"Page 1 of {pages}" in text and f"Page {pages} of {pages}" in text


def test_names_in_any_script_are_shown_or_spelled_out_never_a_crash(cast, launched):
    font = unicode_font()
    assert font is not None, "install fonts-dejavu-core (Chromium's fontconfig brings it)"

    with_font, _ = pdf_text(build(launched, generated_by=cast.erin, now=timezone.now(), font=font))
    latin_1_only, _ = pdf_text(build(launched, generated_by=cast.erin, now=timezone.now(), font=None))

    assert "Zoë Ünal" in with_font and "Łukasz Żółć" in with_font
    assert "<U+738B><U+82B3>" in with_font, "DejaVu has no Chinese: the code points stand in"
    assert "Zoë Ünal" in latin_1_only and "Lukasz Zólc" in latin_1_only
    assert "<U+738B><U+82B3>" in latin_1_only


def test_a_comment_longer_than_its_cell_is_cut_and_says_so(cast, launched):
    alice = ReviewItem.objects.get(campaign=launched, holder=cast.alice)
    long_comment = " ".join(f"reason{n}" for n in range(400))
    services.decide(
        campaign_id=launched.pk, item_ids=[alice.pk], actor=cast.bob, decision="revoke", comment=long_comment
    )

    text, _ = pdf_text(build(launched, generated_by=cast.erin, now=timezone.now(), font=unicode_font()))

    assert "reason0 reason1" in text and "[...]" in text
    assert "reason399" not in text


def test_pages_grow_with_the_lines(cast, sandbox, django_user_model):
    def pages_for(count: int) -> int:
        department = f"Team {count}"
        people = django_user_model.objects.bulk_create(
            django_user_model(
                email=f"p{count}-{n}@example.com", full_name=f"P {n}", manager=cast.bob, department=department
            )
            for n in range(count)
        )
        Grant.objects.bulk_create(Grant(user=p, entitlement=sandbox.developers, source="import") for p in people)
        campaign = Campaign.objects.create(
            name=f"{count} lines",
            owner=cast.erin,
            fallback_reviewer=cast.dave,
            due_at=timezone.now() + timedelta(days=7),
            departments=[department],
        )
        services.launch(campaign_id=campaign.pk, actor=cast.erin)
        _, pages = pdf_text(build(campaign, generated_by=cast.erin, now=timezone.now(), font=unicode_font()))
        return pages

    few, many = pages_for(3), pages_for(300)

    assert few == 3, "cover, summary, one page of lines"
    assert many > few + 5


def test_an_unlaunched_campaign_with_a_long_name_says_so(cast, sandbox):
    name = "Quarterly review of every production account, " * 3
    draft = Campaign.objects.create(name=name.strip(), owner=cast.erin, due_at=timezone.now() + timedelta(days=7))

    text, _ = pdf_text(download(cast.erin, draft))

    assert "Not launched yet" in text and "No lines: the campaign has not been launched." in text
    assert f"Campaign {name.strip()} (number {draft.pk})" in text, "in full on the cover, however long"


def test_only_the_owner_governance_admins_and_auditors_may_download_it(cast, sandbox, launched):
    url = reverse("reviews:evidence_pdf", args=[launched.pk])
    carols = Campaign.objects.create(
        name="Carol's", owner=cast.carol, reviewer_type="owner", due_at=timezone.now() + timedelta(days=7)
    )

    assert Client().get(url).status_code == 302
    # Bob and Dave (the fallback) review lines in it: they may see the campaign, not its evidence. To the others it
    # does not exist.
    answers = {
        person.email: as_person(person).get(url).status_code for person in (cast.alice, cast.bob, cast.carol, cast.dave)
    }
    assert answers == {
        "alice@example.com": 404,
        "bob@example.com": 403,
        "carol@example.com": 404,
        "dave@example.com": 403,
    }
    assert as_person(cast.erin).get(url).status_code == 200
    assert as_person(cast.carol).get(reverse("reviews:evidence_pdf", args=[carols.pk])).status_code == 200
    assert as_person(cast.erin).get(reverse("reviews:evidence_pdf", args=[carols.pk + 1000])).status_code == 404
    assert as_person(cast.erin).post(url).status_code == 405


def test_an_auditor_reads_it_without_owning_the_campaign(cast, launched):
    """Frank is an auditor (accounts.roles.is_auditor): read-only everywhere."""
    text, _ = pdf_text(download(cast.frank, launched))

    assert "for Frank Finance <frank@example.com>" in text


def test_the_campaign_page_links_both_packs(cast, launched):
    page = as_person(cast.erin).get(reverse("reviews:campaign", args=[launched.pk])).content.decode()

    assert reverse("reviews:evidence", args=[launched.pk]) in page
    assert reverse("reviews:evidence_pdf", args=[launched.pk]) in page


def test_entitlements_in_scope_are_named_on_the_cover(cast, sandbox, launched):
    scoped = Campaign.objects.create(
        name="Break-glass only", owner=cast.erin, fallback_reviewer=cast.dave, due_at=timezone.now() + timedelta(days=7)
    )
    scoped.entitlements.set([Entitlement.objects.get(aws_name="BreakGlass")])
    scoped.accounts.set([sandbox.account])

    text, _ = pdf_text(build(scoped, generated_by=cast.erin, now=timezone.now(), font=unicode_font()))

    assert "Entitlements: Break-glass admins" in text
    assert "Accounts: Sandbox (123456789012)" in text and "Kinds: all" in text


def test_a_line_kept_in_the_first_stage_shows_both_decisions(cast, sandbox):
    Grant.objects.create(user=cast.alice, entitlement=sandbox.developers, source=Grant.Source.ADMIN)
    draft = Campaign.objects.create(
        name="Two stages",
        owner=cast.erin,
        fallback_reviewer=cast.dave,
        second_stage=True,
        due_at=timezone.now() + timedelta(days=7),
    )
    launched = services.launch(campaign_id=draft.pk, actor=cast.erin)
    alice = ReviewItem.objects.get(campaign=launched, holder=cast.alice)
    services.decide(campaign_id=launched.pk, item_ids=[alice.pk], actor=cast.bob, decision="keep", comment="On call")
    services.decide(
        campaign_id=launched.pk, item_ids=[alice.pk], actor=cast.carol, decision="revoke", comment="Not in my team"
    )

    text, _ = pdf_text(build(launched, generated_by=cast.erin, now=timezone.now(), font=unicode_font()))

    assert "Review stages 2: lines the first reviewer keeps" in text
    assert "carol@example.com" in text and "1st stage: bob@example.com" in text
    assert "Revoke 1st stage: Keep" in text
    assert "Not in my team 1st stage: On call" in text
    assert "Kept by the first reviewer, handed to an owner 1" in text
