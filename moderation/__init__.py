"""The moderation room: flags, review queues, close and reopen, revisions, suspensions, audit log."""
