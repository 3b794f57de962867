"""WCAG 2.2 AA, checked by axe-core in the page as a person sees it.

`assert_accessible(page, "what the page shows")` runs axe-core (bundled with axe-playwright-python, so
nothing is fetched from a CDN) on the page as it is now: after an htmx swap, the swapped-in part is
checked with the rest. It runs every rule tagged for WCAG 2.0, 2.1 and 2.2 at levels A and AA, plus the
best-practice rules every portal page honours: one `main` landmark, all content inside a landmark, one
`h1`, headings that do not skip a level. A failure lists each violation with its rule id, impact, the
elements it found (CSS selectors) and axe's one-line help.

`assert_accessible_at_both_widths` checks the desktop (1280 px) and phone (390 px) layouts, where the
menu collapses and tables scroll, and puts the viewport back as it found it.
"""

from axe_playwright_python.sync_playwright import Axe

WCAG_22_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
BEST_PRACTICES = ["heading-order", "landmark-one-main", "region", "page-has-heading-one"]
OPTIONS = {
    "runOnly": {"type": "tag", "values": WCAG_22_AA},
    "rules": {rule: {"enabled": True} for rule in BEST_PRACTICES},
    "resultTypes": ["violations"],
}
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}

# Colours are judged at rest: a button under the pointer when the layout changes is mid-way through its hover
# transition for 150 ms, between its two (each sufficient) colour pairs. Endless animations (spinners) are
# not waited for.
AT_REST = """async () => {
  await new Promise(frame => requestAnimationFrame(() => requestAnimationFrame(frame)));
  await Promise.all(document.getAnimations()
    .filter(animation => Number.isFinite(animation.effect?.getComputedTiming().endTime))
    .map(animation => animation.finished.catch(() => null)));
}"""

_axe = Axe()


def violations(page) -> list[dict]:
    """What axe-core finds wrong on the page as it is now, once its transitions have ended (axe's results)."""
    page.evaluate(AT_REST)
    return _axe.run(page, options=OPTIONS).response["violations"]


def describe(found: list[dict]) -> str:
    lines = []
    for violation in found:
        lines.append(f"- {violation['id']} ({violation['impact']}): {violation['help']}")
        for node in violation["nodes"]:
            lines.append(f"    at {' >>> '.join(str(part) for part in node['target'])}")
            # What axe measured there (e.g. the two colours and their contrast ratio).
            lines.extend(f"       {check['message']}" for check in node["any"] + node["all"] + node["none"])
    return "\n".join(lines)


def assert_accessible(page, context: str) -> None:
    found = violations(page)
    assert not found, f"{context} ({page.url}) breaks WCAG 2.2 AA:\n{describe(found)}"


def assert_accessible_at_both_widths(page, context: str) -> None:
    was = page.viewport_size
    failures = []
    try:
        for size in (DESKTOP, PHONE):
            page.set_viewport_size(size)
            found = violations(page)
            if found:
                failures.append(f"at {size['width']} px:\n{describe(found)}")
    finally:
        page.set_viewport_size(was)
    assert not failures, f"{context} ({page.url}) breaks WCAG 2.2 AA\n" + "\n".join(failures)
