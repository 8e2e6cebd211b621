"""Insights for staff and admins: how crowd service is doing, and the SLA what-if."""
