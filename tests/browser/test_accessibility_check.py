"""The accessibility check itself: it fails on a page with known WCAG violations, naming the rules and the
elements, and passes on a clean page, at both widths, leaving the viewport as it was."""

import pytest

from tests.browser.accessibility import assert_accessible, assert_accessible_at_both_widths

CLEAN = """<!doctype html><html lang="en"><head><title>Clean · Access Portal</title></head><body>
<nav aria-label="Main"><a href="/">Access Portal</a></nav>
<main><h1>Request access</h1>
  <form><label for="why">Why do you need this access?</label><input id="why" name="why">
  <button type="submit">Send request</button></form>
</main></body></html>"""

# An input nobody can name, grey-on-white text at 1.6:1, a link with no words; and no <main> or <h1>.
BROKEN = """<!doctype html><html lang="en"><head><title>Broken · Access Portal</title></head><body>
<div><h2>Request access</h2>
  <p style="color: #cccccc; background: #ffffff">Requests are decided within two days.</p>
  <input id="why" name="why">
  <a href="/cart/"><i class="icon-cart"></i></a>
</div></body></html>"""


def test_a_page_with_known_violations_fails_with_their_rule_ids_and_elements(page):
    page.set_content(BROKEN)

    with pytest.raises(AssertionError) as failure:
        assert_accessible(page, "the broken page")

    report = str(failure.value)
    assert "the broken page" in report
    assert "- label (critical): Form elements must have labels" in report
    assert "- color-contrast (serious)" in report
    assert "- link-name (serious)" in report
    # Best-practice rules, switched on besides WCAG's own:
    assert "- landmark-one-main (moderate)" in report
    assert "- page-has-heading-one (moderate)" in report
    assert "- region (moderate)" in report
    assert "at #why" in report
    assert "contrast of 1.6" in report  # what axe measured, to fix it without rerunning


def test_a_clean_page_passes_at_both_widths_and_the_viewport_is_put_back(page):
    page.set_viewport_size({"width": 1000, "height": 700})
    page.set_content(CLEAN)

    assert_accessible_at_both_widths(page, "the clean page")

    assert page.viewport_size == {"width": 1000, "height": 700}


def test_a_violation_only_the_phone_layout_has_is_reported_at_390_px(page):
    # The link's words are hidden below 600 px, as a menu might do: the icon alone has no name there.
    page.set_content(
        CLEAN.replace(
            "</main>",
            "<style>@media (max-width: 600px) { .wide { display: none; } }</style>"
            '<a href="/cart/"><i></i><span class="wide">Your request</span></a></main>',
        )
    )

    with pytest.raises(AssertionError) as failure:
        assert_accessible_at_both_widths(page, "the phone layout")

    report = str(failure.value)
    assert "at 390 px:\n- link-name" in report
    assert "at 1280 px" not in report
    assert page.viewport_size == {"width": 1280, "height": 720}
