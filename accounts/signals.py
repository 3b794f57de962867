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

# Sent when a person's full name changes (the HR feed, single sign-on's claims, SCIM, the admin), inside
# the transaction that changes it: receivers keep their copies of the name in step after it commits.
# Arguments: person.
name_changed = Signal()
