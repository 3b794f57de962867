"""Pure evaluation: which IAM actions policy documents allow, and whether a combination is toxic.

No database, no AWS: functions of their inputs, so they are tested exhaustively and run fast in
the nightly scan. Matching follows AWS: action names are case-insensitive; `*` matches any run of
characters and `?` one character, in the service prefix too (`*`, `iam:*`, `iam:Pass*`).

What is evaluated: Allow and Deny statements, Action and NotAction. What is not, and said so in
the result: Conditions (an Allow with a Condition is reported as "conditional", a Deny with a
Condition is not applied), Resource scoping (any resource counts), permission boundaries and SCPs.
"""

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache


@lru_cache(maxsize=4096)
def _pattern(pattern: str) -> re.Pattern:
    parts = (".*" if char == "*" else "." if char == "?" else re.escape(char) for char in pattern)
    return re.compile("".join(parts), re.IGNORECASE | re.DOTALL)


def action_matches(pattern: str, action: str) -> bool:
    """Whether a policy's action pattern covers a concrete action, as IAM decides it."""
    return _pattern(pattern).fullmatch(action) is not None


def _as_list(value: object) -> list:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def statements(document: dict) -> list[dict]:
    """The statements evaluation reads. Documents are checked when read from AWS (iam.facts.policy_text); one stored
    before that, or by hand, that is not an object, or whose statements are not, allows nothing."""
    if not isinstance(document, dict):
        return []
    return [statement for statement in _as_list(document.get("Statement")) if isinstance(statement, dict)]


def _covers(statement: dict, action: str) -> bool:
    if "Action" in statement:
        return any(action_matches(str(pattern), action) for pattern in _as_list(statement["Action"]))
    if "NotAction" in statement:
        return not any(action_matches(str(pattern), action) for pattern in _as_list(statement["NotAction"]))
    return False


@dataclass
class ActionVerdict:
    """For a set of concrete actions: which the documents allow outright, which only under a condition."""

    allowed: set[str] = field(default_factory=set)
    conditional: set[str] = field(default_factory=set)
    not_evaluated: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Effects:
    """What documents say about each action, before allows and denies are combined."""

    allows: frozenset[str]  # an Allow without a Condition covers it
    conditional_allows: frozenset[str]  # only an Allow with a Condition covers it
    denies: frozenset[str]  # a Deny without a Condition covers it
    not_evaluated: tuple[str, ...] = ()


def action_effects(documents: list[dict], actions: Iterable[str]) -> Effects:
    allows: set[str] = set()
    conditional: set[str] = set()
    denies: set[str] = set()
    notes: list[str] = []
    pooled = [statement for document in documents for statement in statements(document)]
    for action in actions:
        for statement in pooled:
            if not _covers(statement, action):
                continue
            has_condition = bool(statement.get("Condition"))
            if statement.get("Effect") == "Deny":
                if has_condition:
                    notes.append(f"A Deny on {action} with a condition was not applied.")
                else:
                    denies.add(action)
            elif statement.get("Effect") == "Allow":
                (conditional if has_condition else allows).add(action)
    return Effects(frozenset(allows), frozenset(conditional - allows), frozenset(denies), tuple(notes))


def combine(effects: list[Effects]) -> ActionVerdict:
    """IAM's union across a person's policies: any explicit Deny wins over every Allow."""
    allows = set().union(*(e.allows for e in effects)) if effects else set()
    conditional = set().union(*(e.conditional_allows for e in effects)) if effects else set()
    denies = set().union(*(e.denies for e in effects)) if effects else set()
    notes = [note for e in effects for note in e.not_evaluated]
    return ActionVerdict(allows - denies, conditional - allows - denies, notes)


def evaluate_actions(documents: list[dict], actions: list[str]) -> ActionVerdict:
    """Evaluate `actions` against every statement of every document, pooled as IAM pools a user's policies."""
    return combine([action_effects(documents, actions)])


@dataclass(frozen=True)
class RuleView:
    """What evaluation needs of a rule, detached from the database."""

    id: int
    name: str
    why: str
    kind: str  # "entitlements" or "permissions"
    enforcement: str
    set_a: frozenset = frozenset()
    set_b: frozenset = frozenset()
    actions: tuple = ()
    owner_id: int | None = None


@dataclass(frozen=True)
class Conflict:
    rule: RuleView
    entitlements: tuple  # ids of the held entitlements on the other side (or contributing actions)
    actions: tuple = ()  # the rule's actions the combination allows
    conditional: tuple = ()  # actions allowed only under a condition (reported, not counted)


def entitlement_conflict(rule: RuleView, held: set[int], candidate: int | None) -> Conflict | None:
    """Holding anything of A with anything of B. With a candidate, only conflicts it takes part in."""
    together = held | ({candidate} if candidate is not None else set())
    side_a, side_b = together & rule.set_a, together & rule.set_b
    if not side_a or not side_b:
        return None
    if candidate is None:
        return Conflict(rule, tuple(sorted(side_a | side_b)))
    if candidate in rule.set_a and candidate in rule.set_b:
        return Conflict(rule, (candidate,))
    if candidate in rule.set_a:
        return Conflict(rule, tuple(sorted(side_b - {candidate})))
    if candidate in rule.set_b:
        return Conflict(rule, tuple(sorted(side_a - {candidate})))
    return None


def permission_conflict(
    rule: RuleView, documents_by_entitlement: dict[int, list[dict]], held: set[int], candidate: int | None
) -> Conflict | None:
    """All the rule's actions allowed together; with a candidate, only if it adds one of them."""
    together = held | ({candidate} if candidate is not None else set())
    pooled = [doc for entitlement in together for doc in documents_by_entitlement.get(entitlement, [])]
    verdict = evaluate_actions(pooled, list(rule.actions))
    if not rule.actions or set(rule.actions) - verdict.allowed:
        return None
    if candidate is not None:
        before = [doc for entitlement in held for doc in documents_by_entitlement.get(entitlement, [])]
        if set(rule.actions) <= evaluate_actions(before, list(rule.actions)).allowed:
            return None  # already held without the candidate: an existing violation, not this request's
    contributors = tuple(
        sorted(
            entitlement
            for entitlement in together
            if evaluate_actions(documents_by_entitlement.get(entitlement, []), list(rule.actions)).allowed
        )
    )
    return Conflict(rule, contributors, tuple(sorted(verdict.allowed)), tuple(sorted(verdict.conditional)))
