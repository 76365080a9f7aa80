"""Errors the agent raises on purpose; each message says what to do."""

from __future__ import annotations


class AgentError(Exception):
    """Base of the agent's named errors."""


class EmptyTurnError(AgentError, ValueError):
    """A turn with nothing to answer: no text, or no speech tokenizer for audio input."""


class ModelBackendError(AgentError, RuntimeError):
    """The language model failed while generating (a crashed server, a broken reply)."""
