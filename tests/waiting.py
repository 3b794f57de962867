"""Waiting for what another process or thread brings about: polled, with a generous deadline, never a fixed sleep."""

import time


def wait_until(condition, seconds: float, what: str, poll: float = 0.1, explain=lambda: ""):
    deadline = time.monotonic() + seconds
    while not (result := condition()):
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up after {seconds}s waiting until {what}. {explain()}")
        time.sleep(poll)
    return result
