"""Health probes: /health/live (the process answers) and /health/ready (everything the portal needs answers).

`probes` runs the checks (django-health-check's, and the portal's own in `checks`) and words the result;
`middleware` answers the two paths before host validation and the HTTPS redirect, so a load balancer or an
orchestrator can probe a task by its address over plain HTTP; `manage.py health live|ready` runs the same
probes for a container's probe command.
"""
