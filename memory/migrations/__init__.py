"""Alembic migrations of the memory schema, run by `memory.sql_engine.upgrade_database`."""
