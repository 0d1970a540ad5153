"""The democracy service: a FastAPI app over SQLAlchemy, its pages and its guards.

``create_app`` (in :mod:`gosplan.server.app`) builds it; ``gosplan serve`` runs it.
Nothing here is imported by ``import gosplan``.

:func:`replay_plan` is the ledger's replay hook for the service's plan rounds::

    gosplan ledger verify http://HOST/rounds/ID/ledger --replay plan_computed=gosplan.server:replay_plan
"""


def replay_plan(entry, history):  # noqa: ANN001, ANN201
    """Recompute a ``plan_computed`` entry from the proposals and votes recorded before it.

    Aggregates them again by the round's recorded rule, checks the targets recorded, solves
    the plan again and returns its manifest for the verifier to compare with the recorded one.
    """
    from gosplan.server._domain import replay_plan as replay

    return replay(entry, history)
