import logging

import pytest

from portal.logs import RequestContext


class Lines(logging.Handler):
    """Every record the portal logs, with the context its console handler adds (portal.logs.RequestContext)."""

    def __init__(self):
        super().__init__(level=logging.DEBUG)
        self.addFilter(RequestContext())
        self.records: list[logging.LogRecord] = []

    def emit(self, record):
        self.records.append(record)

    def saying(self, words: str) -> list[logging.LogRecord]:
        return [record for record in self.records if words in record.getMessage()]


@pytest.fixture
def log_lines():
    handler = Lines()
    root = logging.getLogger()
    root.addHandler(handler)
    yield handler
    root.removeHandler(handler)
