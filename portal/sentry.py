"""Optional error reports to Sentry: only when SENTRY_DSN is set is sentry-sdk imported and started.

No personal data is sent (send_default_pii off), and every string of an event is passed through the
same masking as log lines (portal/redaction.py) before it leaves. SENTRY_ENVIRONMENT and SENTRY_RELEASE
are read by sentry-sdk itself.
"""


def _masked(value):
    from portal.redaction import redact

    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {key: _masked(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_masked(item) for item in value]
    return value


def _before_send(event, hint):
    return _masked(event)


def start(dsn: str) -> bool:
    """Start reporting to Sentry when a DSN is given; say whether it started."""
    if not dsn:
        return False
    import sentry_sdk
    from sentry_sdk.integrations.celery import CeleryIntegration
    from sentry_sdk.integrations.django import DjangoIntegration

    sentry_sdk.init(
        dsn=dsn,
        send_default_pii=False,
        integrations=[DjangoIntegration(), CeleryIntegration()],
        before_send=_before_send,
        traces_sample_rate=0,
    )
    return True
