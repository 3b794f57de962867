"""What the broker or the cache being unreachable looks like, and what a person is told meanwhile.

A broker outage never reaches a person: tasks wait in the outbox (outbox.services). The cache holds what
cannot wait: sign-in limits. Counting failed sign-ins in a cache nobody can reach would mean not counting
them, so sign-in answers 503 with these words and a Retry-After instead (portal/outages.py for pages,
api/exceptions.py for the API).
"""

import redis
from kombu.exceptions import KombuError

# What sending a task raises when the broker is down: kombu's errors once its retries are spent, and the
# socket's and Redis client's own where they escape it.
BROKER_ERRORS = (KombuError, OSError, redis.exceptions.ConnectionError, redis.exceptions.TimeoutError)
# What Django's Redis cache raises when Redis does not answer.
CACHE_ERRORS = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError)

RETRY_AFTER_SECONDS = 30
UNAVAILABLE = (
    "The portal cannot reach its cache, where sign-in attempts are counted, so it cannot do this just now. "
    "Try again in a minute; tell your administrator if it keeps happening."
)
