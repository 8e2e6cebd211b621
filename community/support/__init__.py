"""Support escalation and the staff desk: SLA policy, the sweeper, tickets, claims and replies."""
