"""Applying grants to AWS: the sync engine, the principals it ensures, and one module per entitlement kind
(operations/)."""
