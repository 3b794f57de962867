from django.apps import AppConfig


class ReviewsConfig(AppConfig):
    name = "reviews"
    verbose_name = "Access reviews"

    def ready(self):
        from accounts.signals import name_changed
        from reviews.audit_names import register_names

        register_names()  # how the audit log names them
        name_changed.connect(_rename_holder_after_commit, dispatch_uid="reviews.rename_holder")


def _rename_holder_after_commit(sender, *, person, **kwargs):
    from django.db import transaction

    from reviews.services.holders import rename_holder, rename_reviewer

    # After the person's transaction: the lock order puts review lines before people.
    transaction.on_commit(lambda: rename_holder(person_id=person.pk))
    transaction.on_commit(lambda: rename_reviewer(person_id=person.pk))
