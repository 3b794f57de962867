"""Talking to AWS: the one module that imports boto3 (gateway), its typed errors, leases on documents written back,
calls made several at once, how a person is named in AWS, the audit anchors' bucket, and the member role's list of
operations."""
