"""Shared persistence and run vocabulary: the DB (recipes, runs, events, artifacts) and the queue.

Importing `store` is cheap on purpose: the submodules pull in SQLAlchemy, Celery and redis only when
the caller needs them.
"""
