"""Which portal person an IAM user name belongs to: the reverse of the naming convention."""

from iam.identity import iam_user_name, people_by_email, people_by_iam_user_name


def test_people_are_found_by_their_email_local_part_or_their_override(cast):
    cast.dave.iam_user_name = "dave.ops"
    cast.dave.save(update_fields=["iam_user_name"])

    found = people_by_iam_user_name(["alice", "dave.ops", "dave", "legacy-ci"])

    assert found == {"alice": cast.alice.pk, "dave.ops": cast.dave.pk}


def test_a_local_part_with_characters_iam_refuses_is_found_under_its_iam_name(cast, django_user_model):
    person = django_user_model.objects.create_user(email="o'neil@example.com", full_name="Pat O'Neil")

    assert iam_user_name(person) == "o-neil"
    assert people_by_iam_user_name(["o-neil"]) == {"o-neil": person.pk}


def test_a_name_two_people_share_belongs_to_neither(cast, django_user_model):
    django_user_model.objects.create_user(email="alice@other.example", full_name="Another Alice")

    assert people_by_iam_user_name(["alice", "bob"]) == {"bob": cast.bob.pk}


def test_people_are_found_by_email_whatever_its_case(cast):
    assert people_by_email(["Carol@Example.com", "nobody@example.com"]) == {"carol@example.com": cast.carol.pk}
