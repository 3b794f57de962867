from tests.iam.workers import redis_broker, start_worker  # noqa: F401 (fixtures for worker-process tests)
