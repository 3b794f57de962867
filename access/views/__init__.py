"""Pages for requesting, approving and holding access. Thin: they call services and selectors."""
