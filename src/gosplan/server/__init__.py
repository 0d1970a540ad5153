"""The democracy service: a FastAPI app over SQLAlchemy, its pages and its guards.

``create_app`` (in :mod:`gosplan.server.app`) builds it; ``gosplan serve`` runs it.
Nothing here is imported by ``import gosplan``.
"""
