from django.apps import AppConfig


class AccessConfig(AppConfig):
    name = "access"
    verbose_name = "Access requests and grants"

    def ready(self):
        from access.audit_names import register_names
        from accounts.signals import manager_change_consequences, manager_changed, person_left
        from audit.services import register_subject_key

        person_left.connect(_end_access_of_leaver, dispatch_uid="access.end_access_of_leaver")
        manager_changed.connect(_reroute_pending_approvals, dispatch_uid="access.reroute_pending_approvals")
        manager_change_consequences.connect(_people_with_pending_requests, dispatch_uid="access.pending_to_reroute")
        register_names()
        # Votes, escalations and grant events name their request in `after`: My requests' timelines
        # find them through the indexed subject table, not the JSON key.
        register_subject_key("request", "access.accessrequest")


def _end_access_of_leaver(sender, *, person, actor, left_at, **kwargs):
    from access.services.administration import end_access_of_leaver
    from access.services.leavers import plan_leaver_steps

    end_access_of_leaver(person=person, actor=actor, left_at=left_at)
    # Beyond the grants: their keys, password, MFA, role sessions, unmanaged access, per AWS account.
    plan_leaver_steps(person=person, left_at=left_at)


def _reroute_pending_approvals(sender, *, person, actor, actor_label, **kwargs):
    from access.services.rerouting import reroute_pending_approvals

    reroute_pending_approvals(person=person, actor=actor, actor_label=actor_label)


def _people_with_pending_requests(sender, *, person_ids, **kwargs) -> set[int]:
    """Whose move would re-route approvals (`_reroute_pending_approvals`): those with a pending request."""
    from access.models import AccessRequest

    pending = AccessRequest.objects.filter(beneficiary_id__in=person_ids, state=AccessRequest.State.PENDING)
    return set(pending.values_list("beneficiary_id", flat=True).distinct())
