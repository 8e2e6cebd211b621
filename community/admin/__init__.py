"""The admin console at /admin: settings, members and delivery, each through the same services as the rest."""
