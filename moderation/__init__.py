"""The moderation room: flags, review queues, close and reopen, revisions, suspensions, audit log.

The room's tunable numbers are declared here, so importing any part of the room declares them.
"""

from __future__ import annotations

from community.settings import between, declare, rule

# A flag's weight = base + reputation bonus + accuracy bonus - declined penalty, never below the minimum.
declare("flag.weight_base", 10, "Weight of a flag from a member with no flag history", "flags")
declare("flag.weight_per_1000_rep", 2, "Extra flag weight per 1000 reputation of the flagger", "flags")
declare("flag.weight_rep_cap", 10, "Most extra flag weight that reputation can add", "flags")
declare("flag.weight_per_helpful", 1, "Extra flag weight per earlier flag found helpful", "flags")
declare("flag.weight_helpful_cap", 10, "Most extra flag weight that helpful flags can add", "flags")
declare("flag.weight_per_declined", 3, "Flag weight lost per earlier flag that was declined", "flags")
declare("flag.weight_min", 1, "The least weight a flag can have", "flags")
declare("flag.hide_threshold", 30, "Weighted spam and abuse flags at which a post hides itself (a moderator's flag reaches it alone)", "flags")
# A spam, rude or delete decision by a reviewer who is not a moderator is a vote until this many agree.
declare("review.removal_votes", 2, "Reviewers (not moderators) who must agree before the review queue removes a post "
        "(spam, rude or delete); one is enough once the post's spam and abuse flags reach the hide threshold", "flags")
declare("close.votes_needed", 3, "Close (or reopen) votes that close (or reopen) a question", "flags")
for _name in ("flag.weight_min", "flag.hide_threshold", "review.removal_votes", "close.votes_needed"):
    rule(_name, between(1, None))  # 0 would let nothing, or anything, through
