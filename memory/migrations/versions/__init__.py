"""Alembic revisions of the history schema, oldest first; one file a revision."""
