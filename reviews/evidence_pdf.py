"""The evidence pack as PDF: a cover with the snapshot and sign-off, a summary, then every line.

Lines come from the database in chunks (`evidence.lines`, the CSV's own query and order) and each
is drawn with fpdf2's public `text()`, a line of a cell at a time: the rows never sit in memory
together, only the PDF's page contents do (fpdf2 writes the file at the end), under 1 KB per line.
Nothing of fpdf2's private API is used; the tests read every PDF back.

Text is shown as typed wherever the font has the glyphs. Characters it lacks are folded to their
base letter ("Ł" to "L" in Helvetica) or, failing that, spelled as code points ("<U+738B>"): the
pack never fails on a name, and the CSV beside it keeps every character.
"""

import logging
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from fpdf import FPDF
from fpdf.fonts import TTFFont

from accounts.models import User
from audit.models import AuditEvent
from reviews.evidence import lines
from reviews.models import Campaign, ReviewItem

# fontTools logs every glyph it keeps while fpdf2 subsets the font, at INFO, for every document.
logging.getLogger("fontTools.subset").setLevel(logging.WARNING)

# A Unicode font installed by the operating system: Debian and Ubuntu's fonts-dejavu-core (fontconfig,
# and so Chromium, depends on it), Fedora's dejavu-sans-fonts, Alpine and Arch's DejaVu packages.
# Without one the pack uses the PDF's built-in Helvetica, which shows Latin-1 only.
FONT_DIRS = (
    Path("/usr/share/fonts/truetype/dejavu"),
    Path("/usr/share/fonts/dejavu-sans-fonts"),
    Path("/usr/share/fonts/dejavu"),
    Path("/usr/share/fonts/TTF"),
)
REGULAR, BOLD = "DejaVuSans.ttf", "DejaVuSans-Bold.ttf"

# Letters without a Unicode decomposition to a base letter, and punctuation Latin-1 lacks.
FOLDED = {
    "\u0141": "L",  # Ł
    "\u0142": "l",  # ł
    "\u0110": "D",  # Đ
    "\u0111": "d",  # đ
    "\u0126": "H",  # Ħ
    "\u0127": "h",  # ħ
    "\u0131": "i",  # dotless i
    "\u0152": "OE",
    "\u0153": "oe",
    "\u2018": "'",  # typographic quotes
    "\u2019": "'",
    "\u201a": ",",
    "\u201c": '"',
    "\u201d": '"',
    "\u201e": '"',
    "\u2013": "-",  # en and em dashes
    "\u2014": "-",
    "\u2026": "...",
    "\u2022": "*",
    "\u20ac": "EUR",
}
PAGES = "{pages}"  # the total page count: reserves room for up to seven digits (fpdf2's "{nb}", three)
CACHED = 20_000  # texts kept wrapped
CUT = " [...]"  # ends a cell whose text was cut to fit; the CSV has it in full

# Page geometry in millimetres: A4 landscape.
MARGIN = 10
TOP = 14  # below the running title
BOTTOM = 196  # above the footer
BODY_SIZE = 6.5
LINE = 2.8
PAD = 1.0


@dataclass(frozen=True)
class Column:
    title: str
    width: float
    max_lines: int = 4


COLUMNS = (
    Column("Holder", 36),
    Column("Entitlement", 28),
    Column("Account", 22),
    Column("Origin", 20),
    Column("Reviewer", 34, max_lines=6),
    Column("Decision", 17),
    Column("Decided", 22),
    Column("Comment", 44, max_lines=12),
    Column("Recommendation shown", 35, max_lines=14),
    Column("Remediation", 19),
)
# Labels looked up once, not through Django's get_FOO_display for each of 100,000 lines.
DECISIONS = dict(ReviewItem.Decision.choices)
RECOMMENDATIONS = DECISIONS | {ReviewItem.Decision.UNDECIDED: "None"}
ORIGINS = dict(ReviewItem.Origin.choices)
REMEDIATIONS = dict(ReviewItem.Remediation.choices)
KEY_VALUE = (Column("", 62), Column("", 215, max_lines=12))


def unicode_font() -> Path | None:
    """The first Unicode font the operating system has, or None."""
    return next((folder / REGULAR for folder in FONT_DIRS if (folder / REGULAR).is_file()), None)


def utc(moment: datetime | None) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC") if moment else ""


class _Glyphs:
    """What the chosen font can show, and how the rest is written instead."""

    def __init__(self, pdf: FPDF, cmap: set[int] | None):
        self.pdf, self.cmap = pdf, cmap
        self.shown: dict[str, str] = {}
        self.widths: dict[str, float] = {}
        # Entitlements, accounts, reviewers and reasons repeat from line to line: each is wrapped once.
        # Emptied when full, so memory stays bounded however many distinct texts there are.
        self.wrapped: dict[tuple[str, float, int], list[str]] = {}

    def covers(self, char: str) -> bool:
        if self.cmap is not None:
            return ord(char) in self.cmap
        return ord(char) < 256

    def _one(self, char: str) -> str:
        if char.isspace() or not char.isprintable():
            return " "
        if self.covers(char):
            return char
        base = "".join(c for c in unicodedata.normalize("NFKD", char) if not unicodedata.combining(c))
        for candidate in (base, FOLDED.get(char, "")):
            if candidate and all(self.covers(c) for c in candidate):
                return candidate
        return f"<U+{ord(char):04X}>"

    def clean(self, text: str) -> str:
        """`text` as this font can show it: one line, nothing that fails or renders as an empty box."""
        text = str(text)
        if text.isascii() and text.isprintable():
            return text
        shown = self.shown
        return "".join(shown[c] if c in shown else shown.setdefault(c, self._one(c)) for c in text)

    def width(self, text: str) -> float:
        """Width at the body size, from each character's width (measured once): fpdf2's own is 50x slower."""
        widths = self.widths
        return sum(
            widths[c] if c in widths else widths.setdefault(c, self.pdf.get_string_width(c, normalized=True))
            for c in text
        )

    def fit(self, text: str, width: float) -> str:
        """The longest start of `text` that fits in `width` (at least one character, so lines always advance)."""
        used = 0.0
        for index, char in enumerate(text):
            used += self.width(char)
            if used > width:
                return text[: max(index, 1)]
        return text

    def wrap(self, text: str, width: float, max_lines: int) -> list[str]:
        """Word-wrapped lines of `text` (its own line breaks kept), at most `max_lines`, the last marked if cut."""
        key = (text, width, max_lines)
        if key not in self.wrapped:
            if len(self.wrapped) >= CACHED:
                self.wrapped.clear()
            self.wrapped[key] = self._wrap(str(text), width, max_lines)
        return self.wrapped[key]

    def _wrap(self, text: str, width: float, max_lines: int) -> list[str]:
        out: list[str] = []
        for paragraph in text.splitlines() or [""]:
            paragraph = self.clean(paragraph)
            if self.width(paragraph) <= width:
                out.append(paragraph)
                continue
            line, used = "", 0.0
            for word in paragraph.split(" "):
                size = self.width(word)
                if line and used + self.width(" ") + size <= width:
                    line, used = f"{line} {word}", used + self.width(" ") + size
                    continue
                if line:
                    out.append(line)
                while size > width:  # a word longer than the column: cut it where it fills a line
                    piece = self.fit(word, width)
                    out.append(piece)
                    word = word[len(piece) :]
                    size = self.width(word)
                line, used = word, size
            out.append(line)
        if len(out) > max_lines:
            out = out[:max_lines]
            out[-1] = self.fit(out[-1], width - self.width(CUT)) + CUT
        return out


class _Pack(FPDF):
    def __init__(self, campaign: Campaign, font: Path | None, generated: str):
        super().__init__(orientation="L", unit="mm", format="A4")
        self.campaign, self.generated = campaign, generated
        self.table_header = False
        self.set_auto_page_break(False)
        self.alias_nb_pages(PAGES)
        self.set_margins(MARGIN, TOP, MARGIN)
        if font is not None:
            self.add_font("body", "", font)
            bold = font.with_name(BOLD)
            self.add_font("body", "B", bold if bold.is_file() else font)
            self.family = "body"
            self.set_font(self.family, size=BODY_SIZE)
            # Only a TrueType font has a glyph map: the one just set is.
            cmap = set(current.cmap) if isinstance(current := self.current_font, TTFFont) else None
        else:
            self.family = "helvetica"
            self.set_font(self.family, size=BODY_SIZE)
            cmap = None
        self.set_draw_color(200)
        self.glyphs = _Glyphs(self, cmap)
        self.bold = _Glyphs(self, cmap)  # widths differ in bold: measured apart

    def header(self) -> None:
        self.set_font(self.family, size=7)
        self.set_text_color(110)
        self.text(MARGIN, 8, self.glyphs.clean(f"Access review evidence pack: {self.campaign.name}"))
        self.set_text_color(0)
        self.set_y(TOP)
        if self.table_header:
            self.row([column.title for column in COLUMNS], COLUMNS, bold=True)
            self.set_draw_color(0)
            self.line(MARGIN, self.get_y(), self.w - MARGIN, self.get_y())
            self.set_draw_color(200)
        self.set_font(self.family, size=BODY_SIZE)

    def footer(self) -> None:
        self.set_font(self.family, size=7)
        self.set_text_color(110)
        self.text(MARGIN, self.h - 7, self.glyphs.clean(self.generated))
        # Left-aligned where the longest "Page 12345 of 12345" still ends inside the margin: the count
        # is filled in at the end, into a space reserved for seven digits.
        self.set_xy(self.w - MARGIN - 28, self.h - 10)
        self.cell(28, 4, f"Page {self.page_no()} of {PAGES}")
        self.set_text_color(0)
        self.set_font(self.family, size=BODY_SIZE)

    def row(self, values: Sequence[str], columns: Sequence[Column], *, bold: bool = False) -> None:
        """One table row at the cursor, on a new page if it does not fit; the cursor moves below it."""
        glyphs = self.bold if bold else self.glyphs
        if bold:
            self.set_font(self.family, "B", BODY_SIZE)
        cells = [
            glyphs.wrap(value, column.width - 2 * PAD, column.max_lines)
            for value, column in zip(values, columns, strict=True)
        ]
        height = max(len(cell) for cell in cells) * LINE + 2 * PAD
        if self.get_y() + height > BOTTOM:
            self.add_page()
        top = self.get_y()
        self._draw(top, cells, columns)
        right = MARGIN + sum(column.width for column in columns)
        self.line(MARGIN, top + height, right, top + height)
        self.set_y(top + height)
        if bold:
            self.set_font(self.family, size=BODY_SIZE)

    def _draw(self, top: float, cells: list[list[str]], columns) -> None:
        """A row's text, each line of each cell placed on its baseline with `text()`.

        Not `cell()` or `multi_cell()`: they parse what they are given (markdown, the page-count alias),
        so a comment reading "{pages}" would be taken for the page count; `text()` writes it as typed.
        """
        x = MARGIN + PAD
        baseline = top + PAD + LINE - 0.7
        for cell, column in zip(cells, columns, strict=True):
            for number, line in enumerate(cell):
                if line:
                    self.text(x, baseline + number * LINE, line)
            x += column.width

    def heading(self, text: str, size: float = 13) -> None:
        """One line in bold, cut to the page's width (the cover's table repeats a long campaign name in full)."""
        self.set_font(self.family, "B", size)
        text = self.bold.clean(text)
        while self.get_string_width(text) > self.w - 2 * MARGIN:
            text = text[:-4] + "..."
        self.text(MARGIN, self.get_y() + size * 0.4, text)
        self.set_y(self.get_y() + size * 0.6)
        self.set_font(self.family, size=BODY_SIZE)


def _listing(names: list[str], everything: str, limit: int = 25) -> str:
    if not names:
        return everything
    shown = ", ".join(names[:limit])
    return shown + (f", and {len(names) - limit} more" if len(names) > limit else "")


def _scope(campaign: Campaign) -> str:
    accounts = [f"{a.name} ({a.account_id})" for a in campaign.accounts.order_by("name")]
    entitlements = list(campaign.entitlements.order_by("name").values_list("name", flat=True))
    return "\n".join(
        [
            f"Accounts: {_listing(accounts, 'all')}",
            f"Entitlements: {_listing(entitlements, 'all')}",
            f"Kinds: {_listing(campaign.kinds, 'all')}",
            f"Risk levels: {_listing(campaign.risks, 'all')}",
            f"Departments: {_listing(campaign.departments, 'all')}",
        ]
    )


def _person(user: User | None) -> str:
    return f"{user.full_name or user.email} <{user.email}>" if user else ""


class Tally:
    """The summary's figures, counted while the lines are drawn: the same values the lines show."""

    def __init__(self):
        self.figures = dict.fromkeys(
            [
                "total",
                "kept",
                "revoked",
                "kept_by_rule",
                "revoked_by_rule",
                "undecided",
                "handed_on",
                *ReviewItem.Remediation.values,
            ],
            0,
        )

    def add(self, item: ReviewItem, remediation: str) -> None:
        figures = self.figures
        figures["total"] += 1
        if item.decision == ReviewItem.Decision.UNDECIDED:
            figures["undecided"] += 1
        else:
            verb = "kept" if item.decision == ReviewItem.Decision.KEEP else "revoked"
            figures[f"{verb}_by_rule" if item.automatic else verb] += 1
        if item.first_decided_by_id is not None:
            figures["handed_on"] += 1
        figures[remediation] += 1


def _escalated(campaign: Campaign) -> int:
    """Lines the escalate rule handed to the owner at sign-off attempts (recorded in the audit trail)."""
    events = AuditEvent.objects.filter(
        action="campaign.escalated", object_type=Campaign._meta.label_lower, object_id=str(campaign.pk)
    )
    return sum((event.after or {}).get("items", 0) for event in events)


def _rule(campaign: Campaign) -> str:
    """The undecided rule and the lines it decided (or will decide: they are counted on the cover, before the lines)."""
    rule = campaign.get_undecided_display()
    items = ReviewItem.objects.filter(campaign=campaign)
    if campaign.undecided == Campaign.Undecided.ESCALATE:
        return f"{rule}: {_escalated(campaign)} lines escalated to the owner at sign-off"
    if campaign.state != Campaign.State.CLOSED:
        undecided = items.filter(decision=ReviewItem.Decision.UNDECIDED).count()
        return f"{rule}: applies at sign-off ({undecided} lines undecided now)"
    return f"{rule}: applied at sign-off to {items.filter(automatic=True).count()} lines"


def _cover(pdf: _Pack, campaign: Campaign) -> None:
    pdf.add_page()
    pdf.heading("Access review evidence pack", size=16)
    pdf.heading(campaign.name, size=12)
    pdf.set_y(pdf.get_y() + 2)
    reviewer_type = campaign.get_reviewer_type_display()
    if campaign.reviewer_type == Campaign.ReviewerType.NAMED:
        named = [_person(user) for user in campaign.named_reviewers.order_by("full_name")]
        reviewer_type += f": {_listing(named, 'nobody named')}"
    signed = (
        f"{_person(campaign.signed_off_by)} on {utc(campaign.closed_at)}"
        if campaign.state == Campaign.State.CLOSED
        else "Not signed off yet"
    )
    facts = [
        ("Campaign", f"{campaign.name} (number {campaign.pk})"),
        ("Owner", _person(campaign.owner)),
        ("State", campaign.get_state_display()),
        ("Scope", _scope(campaign)),
        ("Reviewer type", reviewer_type),
        ("Fallback reviewer", _person(campaign.fallback_reviewer) or "The campaign owner"),
        ("Review stages", _stages(campaign)),
        ("Due", utc(campaign.due_at)),
        ("Snapshot taken", utc(campaign.snapshot_at) or "Not launched yet"),
        ("Population", f"{campaign.population_count} lines"),
        ("Population SHA-256", campaign.population_hash or "none yet"),
        (
            "How to check the hash",
            'SHA-256 of one line "holder_id:entitlement_id" and a line feed per item, from those two columns of '
            'the CSV evidence pack, in its order (unmanaged access of no portal person is "aws:<principal>").',
        ),
        ("Undecided rule", _rule(campaign)),
        ("Signed off", signed),
        ("Generated", pdf.generated),
        (
            "About this document",
            "Times are UTC. Text cut to fit ends with [...]; characters the font cannot show are written as "
            "<U+code point>. The CSV evidence pack holds every line's text in full.",
        ),
    ]
    for label, value in facts:
        pdf.row([label, value], KEY_VALUE)


def _stages(campaign: Campaign) -> str:
    if campaign.second_stage:
        return "2: lines the first reviewer keeps are confirmed or revoked by an owner of the entitlement"
    return "1: each line is decided by its reviewer"


def _summary(pdf: _Pack, figures: dict[str, int], second_stage: bool) -> None:
    pdf.heading("Summary")
    table = (Column("", 90), Column("", 30))
    Remediation = ReviewItem.Remediation
    sections = {
        "Decisions": [
            ("Lines in the snapshot", figures["total"]),
            ("Kept by reviewers", figures["kept"]),
            ("Revoked by reviewers", figures["revoked"]),
            ("Kept by the undecided rule", figures["kept_by_rule"]),
            ("Revoked by the undecided rule", figures["revoked_by_rule"]),
            ("Still undecided", figures["undecided"]),
        ]
        + ([("Kept by the first reviewer, handed to an owner", figures["handed_on"])] if second_stage else []),
        "Remediation": [
            ("Removals done (read back from AWS)", figures[Remediation.DONE]),
            ("Removals pending", figures[Remediation.PENDING]),
            ("Removals failed", figures[Remediation.FAILED]),
            ("Unmanaged access kept and adopted into the ledger", figures[Remediation.ADOPTED]),
            ("Unmanaged access kept as an accepted risk", figures[Remediation.ACCEPTED]),
        ],
    }
    for title, rows in sections.items():
        pdf.row([title, "Lines"], table, bold=True)
        for label, number in rows:
            pdf.row([label, str(number)], table)
        pdf.set_y(pdf.get_y() + 4)


def _decision(item: ReviewItem) -> tuple[str, str, str]:
    """What the Decision, Decided and Comment cells say: the final say, and a first stage's keep before it."""
    decision = DECISIONS[item.decision] + ("\n(undecided rule)" if item.automatic else "")
    decided = utc(item.decided_at)
    if item.decided_by_id != item.reviewer_id and item.decided_by is not None:
        decided += f"\nby {item.decided_by.email}"
    comment = item.comment
    if item.first_decided_by_id is not None:
        decision = f"{decision}\n1st stage: {DECISIONS.get(item.first_decision, item.first_decision)}"
        decided += f"\n1st stage: {utc(item.first_decided_at)}"
        comment = f"{comment}\n1st stage: {item.first_comment}" if item.first_comment else comment
    return decision, decided, comment


def _cells(item: ReviewItem, remediation: str) -> list[str]:
    decision, decided, comment = _decision(item)
    reviewer = f"{item.reviewer.full_name}\n{item.reviewer.email}\n{item.reviewer_reason}"
    if (first := item.first_decided_by) is not None:
        reviewer += f"\n1st stage: {first.email} ({item.first_reviewer_reason})"
    shown = RECOMMENDATIONS[item.recommendation]
    if item.recommendation_reason:
        shown += f": {item.recommendation_reason}"
    if item.recommendation != ReviewItem.Decision.UNDECIDED:
        shown += f"\n(source: {item.get_recommendation_source_display()})"
    if item.usage_evidence and item.usage_evidence != item.recommendation_reason:
        shown += f"\nAccess Advisor: {item.usage_evidence}"
    if item.activity_evidence:
        shown += f"\nCloudTrail: {item.activity_evidence}"
    if item.first_recommendation and item.first_recommendation != item.recommendation:
        shown += f"\n1st stage: {RECOMMENDATIONS.get(item.first_recommendation, item.first_recommendation)}"
    holder = f"{item.holder.full_name}\n{item.holder.email}" if item.holder else item.holder_label
    held = f"\nsince {item.held_since:%Y-%m-%d}" if item.held_since else ""
    account = item.entitlement.account
    remedied = REMEDIATIONS[remediation] + (f"\n{item.remediation_note}" if item.remediation_note else "")
    return [
        holder,
        item.entitlement.name,
        f"{account.name}\n{account.account_id}",
        f"{ORIGINS.get(item.origin, item.origin)}{held}",
        reviewer,
        decision,
        decided,
        comment,
        shown,
        remedied,
    ]


def build(
    campaign: Campaign,
    *,
    generated_by: User | None,
    now: datetime,
    font: Path | None,
    progress: Callable[[int], object] | None = None,
) -> bytes:
    """The campaign's evidence pack as PDF bytes, in `font` (a TrueType file; None: Helvetica, Latin-1 only).
    `progress(lines_done)`, if given, is called after each line (the worker writes it for the page)."""
    pdf = _Pack(campaign, font, f"Generated {utc(now)} for {_person(generated_by)}")
    pdf.set_title(f"Access review evidence pack: {campaign.name}")
    pdf.set_author("Access Portal")
    pdf.set_creator("Access Portal")
    pdf.set_creation_date(now)
    pdf.set_lang("en")
    _cover(pdf, campaign)
    # The summary counts what the lines show, so its page is kept now and filled after them.
    pdf.add_page()
    summary_page = pdf.page
    pdf.table_header = True
    pdf.add_page()
    tally = Tally()
    for item in lines(campaign):
        remediation = item.live_remediation
        tally.add(item, remediation)
        pdf.row(_cells(item, remediation), COLUMNS)
        if progress is not None:
            progress(tally.figures["total"])
    if not tally.figures["total"]:
        pdf.row(["No lines: the campaign has not been launched."], (Column("", sum(c.width for c in COLUMNS)),))
    last_page = pdf.page
    pdf.page = summary_page
    pdf.set_y(TOP)
    _summary(pdf, tally.figures, campaign.second_stage)
    pdf.page = last_page
    return bytes(pdf.output())
