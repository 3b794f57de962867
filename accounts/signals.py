"""Signals other apps listen to. `accounts` is a low layer: it announces, the apps above act."""

from django.dispatch import Signal

# Sent inside the transaction that marks a person a leaver: receivers end their access in the same
# transaction, so the status and the revocations commit (or roll back) together.
# Arguments: person, actor, left_at.
person_left = Signal()
