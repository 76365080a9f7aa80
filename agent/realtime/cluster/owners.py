"""Who may open a conversation: the user who created it, recorded where its history lives.

With a SQL history store the owner is the conversation row's user (`memory.conversation_owner`),
so every worker on that database agrees. With history in memory (one process, tests) a dict
of this process plays the same part (it keeps one entry per conversation id opened).
"""

from __future__ import annotations

from agent.recall.caller import sql_store
from memory import DialogueStore
from memory.conversation_owner import ConversationClaim, claim_conversation


class ConversationForbidden(PermissionError):
    """The conversation belongs to another user."""


class ConversationOwners:
    def __init__(self, memory: DialogueStore) -> None:
        self.store = sql_store(memory)
        self._local: dict[str, str | None] = {}  # without a SQL store: id -> owner

    async def claim(self, conversation_id: str, user_id: str | None,
                    persona: str | None = None) -> ConversationClaim:
        """Open `conversation_id` for `user_id`: created (owned by them) when unknown.
        Raises `ConversationForbidden` when it is another user's."""
        if self.store is not None:
            claim = await claim_conversation(self.store, conversation_id, user_id, persona)
        else:
            created = conversation_id not in self._local
            owner = self._local.setdefault(conversation_id, user_id)
            claim = ConversationClaim(conversation_id, owner, created, 0)
        if not claim.allows(user_id):
            raise ConversationForbidden(
                f"conversation {conversation_id!r} belongs to another caller: open your own "
                "conversation, or present that caller's token")
        return claim

    async def owner(self, conversation_id: str) -> tuple[bool, str | None]:
        """(whether the conversation exists, its owner)."""
        if self.store is None:
            return conversation_id in self._local, self._local.get(conversation_id)
        from memory import ConversationNotFoundError

        try:
            info = await self.store.conversation(conversation_id)
        except ConversationNotFoundError:
            return False, None
        return True, info.user_id
