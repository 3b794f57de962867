"""AWS compared with the grant ledger: the reconcile run, the register of unmanaged access, what may be done with it,
and a leaver's removal account by account."""
