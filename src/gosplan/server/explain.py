"""Each rule and term of the service in one sentence, as the pages and the API's schema say it.

The pages show the sentence where a rule is used; :mod:`.api` uses the same text in its
OpenAPI descriptions, so the two never tell a member different things.
"""

from __future__ import annotations

#: rule -> what it does, in one sentence a council member can read.
RULES = {
    # plan rounds: basket rules
    "weighted-sum": "Each product's target is the sum of the councils' proposed amounts, each council counted by its weight.",
    "weighted-mean": "Each product's target is the weighted average of the councils' proposed amounts (weights are the councils' weights).",
    "weighted-median": "Each product's target is the weighted median of the councils' proposed amounts: no council can move it "
                       "by exaggerating, only by having more weight behind it.",
    # plan rounds: voting rules
    "approval": "Each council approves any number of proposals; the proposal with the most approval weight becomes the plan's targets.",
    "instant-runoff": "Councils rank the proposals; the one with the fewest first preferences is dropped and its votes pass "
                      "to the next choice, until one proposal has a majority.",
    "ranked-choice": "Councils rank the proposals; the one with the fewest first preferences is dropped and its votes pass "
                     "to the next choice, until one proposal has a majority (instant runoff).",
    "schulze": "Councils rank the proposals; the winner is the proposal that beats every other one by the strongest chain "
               "of pairwise majorities (the Schulze method).",
    # budget rounds
    "equal-shares": "The budget is split equally among the voters; a project is funded when its supporters can pay for it "
                    "from their shares, cheapest per supporter first (the Method of Equal Shares, completed by raising "
                    "the shares step by step, add1, while money is left).",
    "greedy": "Projects are funded in order of their votes, skipping any that no longer fits the budget.",
    "phragmen": "Voters earn money continuously; a project is funded as soon as its supporters together have earned its "
                "cost (sequential Phragmén), which spreads funded projects across groups of voters.",
    # elections
    "pav": "Proportional Approval Voting: the seats go to the set of candidates that maximises each voter's satisfaction "
           "counted 1 + 1/2 + 1/3 ... for the approved candidates elected.",
    "seq-phragmen": "Sequential Phragmén: seats are filled one by one, each by the candidate whose voters would carry the "
                    "smallest load, so that every group of voters is represented in proportion.",
    "stv": "Single Transferable Vote: members rank candidates; a candidate reaching the quota is elected and the surplus "
           "passes to next preferences, the weakest candidate is dropped otherwise, until the seats are filled.",
}

#: The published tie-break of each kind of round, said with every result.
TIES = {
    "plan": "A tie between proposals goes to the earliest proposal (the lowest proposal number).",
    "budget": "A tie between projects goes to the project whose id comes first in alphabetical order (as pabutools breaks it).",
    "election": "A tie between candidates goes to the candidate listed first (the lowest member number); in STV, of "
                "candidates tied for elimination the one listed last is dropped.",
}

KINDS = {
    "plan": "councils propose final demand for the economy and a rule turns the proposals into the plan's targets",
    "budget": "members vote on projects and a rule chooses which are funded within the budget",
    "election": "members of one council elect its delegates",
}

#: What an open round takes, by kind (the pages say it beside the status).
OPEN = {
    "plan": "councils' proposals and votes are taken",
    "budget": "members' ballots are taken",
    "election": "candidates stand and members' ballots are taken",
}

STATUSES = {
    "open": "proposals, votes and ballots are taken",
    "closed": "no more proposals or votes; the planner computes (plan rounds) and publishes the result",
    "published": "the result is final and public",
}


def rule(name: str) -> str:
    """The sentence for rule ``name`` (empty for a rule this service does not describe)."""
    return RULES.get(name, "")


def article(word: str) -> str:
    """``word`` with its indefinite article: "an election round", "a plan round", "an administrator"."""
    return ("an " if word[:1].lower() in "aeiou" else "a ") + word
