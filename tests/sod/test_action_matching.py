"""IAM action matching, checked against properties of how AWS matches (hypothesis), and by example."""

from hypothesis import given
from hypothesis import strategies as st

from sod.evaluation import action_matches, evaluate_actions

service = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-", min_size=1, max_size=12)
operation = st.text(alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ", min_size=1, max_size=20)
actions = st.builds(lambda s, o: f"{s}:{o}", service, operation)


def swap_case(text: str, mask: list[bool]) -> str:
    return "".join(c.swapcase() if flip else c for c, flip in zip(text, mask + [False] * len(text), strict=False))


@given(actions, st.lists(st.booleans(), max_size=40))
def test_names_match_themselves_in_any_case(action, mask):
    assert action_matches(swap_case(action, mask), action)
    assert action_matches(action, swap_case(action, mask))


@given(actions)
def test_a_lone_star_and_the_service_star_match_every_action_of_the_service(action):
    prefix = action.split(":")[0]
    assert action_matches("*", action)
    assert action_matches(f"{prefix}:*", action)
    assert action_matches(f"{prefix.upper()}:*", action)


@given(actions, st.integers(min_value=0, max_value=25))
def test_any_prefix_followed_by_a_star_matches(action, cut):
    assert action_matches(action[:cut] + "*", action)


@given(actions, actions)
def test_a_pattern_without_wildcards_matches_only_its_own_name(first, second):
    assert action_matches(first, second) == (first.lower() == second.lower())


@given(actions, st.data())
def test_a_question_mark_stands_for_exactly_one_character(action, data):
    index = data.draw(st.integers(min_value=0, max_value=len(action) - 1))
    pattern = action[:index] + "?" + action[index + 1 :]
    assert action_matches(pattern, action)
    assert not action_matches(pattern, action + "x")


@given(actions, st.sampled_from([".", "+", "(", "[", "^", "$", "|", "\\"]))
def test_regular_expression_characters_in_patterns_are_literal(action, char):
    assert not action_matches(action + char, action + "x")
    assert action_matches(action + char, action + char)


def test_examples_from_aws_documentation():
    assert action_matches("iam:Pass*", "iam:PassRole")
    assert action_matches("iam:*AccessKey*", "iam:CreateAccessKey")
    assert not action_matches("iam:Pass*", "lambda:PassRole")
    assert not action_matches("s3:Get*", "s3:PutObject")
    assert action_matches("*:Get*", "s3:GetObject")


def policy(*statements):
    return {"Version": "2012-10-17", "Statement": list(statements)}


def test_not_action_allows_everything_but_what_it_names():
    document = policy({"Effect": "Allow", "NotAction": ["iam:*"], "Resource": "*"})

    verdict = evaluate_actions([document], ["lambda:CreateFunction", "iam:PassRole"])

    assert verdict.allowed == {"lambda:CreateFunction"}


def test_an_explicit_deny_in_any_policy_wins():
    allow = policy({"Effect": "Allow", "Action": "*", "Resource": "*"})
    deny = policy({"Effect": "Deny", "Action": "iam:PassRole", "Resource": "*"})

    assert evaluate_actions([allow, deny], ["iam:PassRole", "iam:GetRole"]).allowed == {"iam:GetRole"}


def test_conditions_are_reported_not_silently_counted():
    document = policy(
        {
            "Effect": "Allow",
            "Action": "iam:PassRole",
            "Resource": "*",
            "Condition": {"StringEquals": {"iam:PassedToService": "lambda.amazonaws.com"}},
        },
        {
            "Effect": "Deny",
            "Action": "iam:GetRole",
            "Resource": "*",
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        },
        {"Effect": "Allow", "Action": "iam:GetRole", "Resource": "*"},
    )

    verdict = evaluate_actions([document], ["iam:PassRole", "iam:GetRole"])

    assert verdict.allowed == {"iam:GetRole"}
    assert verdict.conditional == {"iam:PassRole"}
    assert verdict.not_evaluated == ["A Deny on iam:GetRole with a condition was not applied."]


def test_single_statement_and_single_action_forms_are_read():
    document = {"Statement": {"Effect": "Allow", "Action": "iam:CreatePolicyVersion", "Resource": "*"}}

    assert evaluate_actions([document], ["iam:CreatePolicyVersion"]).allowed == {"iam:CreatePolicyVersion"}
