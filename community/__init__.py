"""The community room: members, questions, answers, votes, acceptance and reputation."""
