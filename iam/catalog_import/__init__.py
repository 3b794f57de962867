"""Importing an account's entitlements into the catalog: the importer and its runs."""
