"""What a rule may name as an IAM action, and the plain words for what it may not.

A permission rule asks "may this person perform every one of these actions?", and evaluation.py answers
it by matching the policies' patterns against each name the rule gives. That question only has an
answer for concrete names: `iam:Pass*` is not one action but many, and a policy allowing only
`iam:PassRole` would not match it, so a rule naming it would quietly never fire. Patterns belong in
policies; rules name the actions. Policies that allow them through `iam:Pass*`, `iam:*` or `*` are
still caught.
"""

import re

ACTION_NAME = re.compile(r"[a-z0-9-]+:[A-Za-z0-9]+")
MAX_ACTIONS = 50
MAX_ACTION_LENGTH = 128


def problem_with(action: str) -> str | None:
    """Why `action` cannot stand in a rule, in words; None when it can."""
    if not isinstance(action, str):
        return "An action is a name such as iam:PassRole."
    shown = action if len(action) <= 40 else action[:40] + "…"
    if len(action) > MAX_ACTION_LENGTH:
        return f"“{shown}” is longer than any IAM action ({MAX_ACTION_LENGTH} characters at most)."
    if ACTION_NAME.fullmatch(action):
        return None
    if ":" not in action:
        return f"“{shown}” has no service: write it as service:Action, such as iam:PassRole."
    if action.count(":") > 1:
        return f"“{shown}” has more than one colon: write it as service:Action, such as iam:PassRole."
    service, _, name = action.partition(":")
    if not service:
        return f"“{shown}” has no service before the colon (such as iam in iam:PassRole)."
    if not name:
        return f"“{shown}” has no action after the colon (such as PassRole in iam:PassRole)."
    if "*" in action or "?" in action:
        return (
            f"“{shown}” is a pattern; a rule names concrete actions, such as iam:PassRole "
            "(policies that allow them through a pattern are still caught)."
        )
    if not re.fullmatch(r"[a-z0-9-]+", service):
        return f"“{shown}”: a service is lower-case letters, digits and dashes, such as iam or ec2."
    return f"“{shown}”: an action is letters and digits after the colon, such as PassRole."


def split_lines(text: str) -> list[str]:
    """One action a line (commas and spaces also separate them); blank lines and repeats dropped, in order."""
    seen: dict[str, None] = {}
    for item in re.split(r"[\s,]+", text or ""):
        if item:
            seen.setdefault(item, None)
    return list(seen)


def problems_with(actions: list[str]) -> list[str]:
    """Every problem of a rule's list of actions, in words (empty: the list is fine)."""
    problems = [problem for action in actions if (problem := problem_with(action))]
    if len(actions) > MAX_ACTIONS:
        problems.append(f"A rule names at most {MAX_ACTIONS} actions; this one names {len(actions)}.")
    elif len(actions) < 2 and not problems:
        problems.append("Name at least two actions that one person must not be able to perform together.")
    return problems
