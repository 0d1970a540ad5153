"""The democracy service: a FastAPI app over SQLAlchemy, its pages and its guards.

``create_app`` (in :mod:`gosplan.server.app`) builds it; ``gosplan serve`` runs it.
Nothing here is imported by ``import gosplan``.

Every outcome the service records (plan, budget, election, recall) is computed from the
round's ledger entries by :mod:`gosplan.democracy.rounds`, whose replay hooks
``gosplan ledger verify`` runs by default; with a head the server published and signed::

    gosplan ledger verify http://HOST/rounds/ID/ledger --head HEAD.json   # HEAD.json from GET /rounds/ID/head

:func:`replay_plan` stays importable for the older spelling
``--replay plan_computed=gosplan.server:replay_plan``.
"""


def replay_plan(entry, history):  # noqa: ANN001, ANN201
    """Recompute a ``plan_computed`` entry (:func:`gosplan.democracy.rounds.replay_plan`)."""
    from gosplan.democracy.rounds import replay_plan as replay

    return replay(entry, history)
