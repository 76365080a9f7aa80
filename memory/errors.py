"""Named errors of the memory package; messages say what to do."""

from __future__ import annotations


class MemoryStoreError(Exception):
    """Base of the errors a memory store raises."""


class DatabaseUnavailableError(MemoryStoreError):
    """The database could not be reached or refused the work (down, locked, disk full)."""


class ConversationNotFoundError(MemoryStoreError, LookupError):
    """No conversation with that id is stored."""
