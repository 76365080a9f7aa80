"""Dialogue history as text."""

from memory.dialogue import DialogueStore, DialogueTurn, InMemoryDialogueStore, ToolCallRecord

__all__ = ["DialogueStore", "DialogueTurn", "InMemoryDialogueStore", "ToolCallRecord"]
