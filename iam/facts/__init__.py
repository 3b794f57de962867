"""Reading AWS without changing it: who holds what (inventory), policy documents and their text, Access Advisor,
CloudTrail activity, the posture checks' reads, and AWS Organizations."""
