from django.apps import AppConfig


class AccessConfig(AppConfig):
    name = "access"
    verbose_name = "Access requests and grants"

    def ready(self):
        from accounts.signals import person_left

        person_left.connect(_end_access_of_leaver, dispatch_uid="access.end_access_of_leaver")


def _end_access_of_leaver(sender, *, person, actor, left_at, **kwargs):
    from access.services.grants import end_access_of_leaver

    end_access_of_leaver(person=person, actor=actor, left_at=left_at)
