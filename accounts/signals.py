"""Signals other apps listen to. `accounts` is a low layer: it announces, the apps above act."""

from django.dispatch import Signal

# Sent inside the transaction that marks a person a leaver: receivers end their access in the same
# transaction, so the status and the revocations commit (or roll back) together.
# Arguments: person, actor, left_at.
person_left = Signal()

# Sent inside the transaction that changes a person's manager (a mover: the HR feed, single sign-on's
# claims, SCIM): receivers re-route what the old manager was asked to decide, in the same transaction.
# Arguments: person, old_manager_id, actor, actor_label.
manager_changed = Signal()

# Asked by the HR feed before it writes a batch of manager changes in bulk (accounts.hr_feed): each receiver
# answers the ids, among `person_ids`, of the people whose manager change it would act on (`manager_changed`).
# Those are moved one by one through `upsert_person`, the others together without a query each. Sent under the
# people's locks, so the answer holds until the batch commits. Arguments: person_ids.
manager_change_consequences = Signal()

# Sent when a person's full name changes (the HR feed, single sign-on's claims, SCIM, the admin), inside
# the transaction that changes it: receivers keep their copies of the name in step after it commits.
# Arguments: person.
name_changed = Signal()
