"""What the sync engine keeps for itself (the grant ledger lives in `access`)."""

from django.db import models


class AwsWriteLease(models.Model):
    """A short exclusive lease on one AWS document that several workers read, merge and rewrite.

    IAM has no conditional writes, so two workers merging into the same inline policy at
    once would lose one of the merges. The lease is taken with a conditional insert or
    update (never a transaction held across an AWS call) and runs out on its own if its
    holder dies.
    """

    key = models.CharField(max_length=400, unique=True)
    holder = models.UUIDField()
    expires_at = models.DateTimeField()

    def __str__(self):
        return f"{self.key} until {self.expires_at:%Y-%m-%d %H:%M:%S}"
