"""The end of a conversation in the SQL store: its end recorded, the caller's facts learnt
(`VoiceAgent.end_conversation` holds the conversation's lock around it)."""

from __future__ import annotations

import logging

log = logging.getLogger("agent.voice_agent")  # the logger this lived under


async def learn_at_end(store, services, conversation_id: str, user_id: str | None) -> list[str]:
    """Record the conversation's end and, with a fact store and a known caller, have the model
    note lasting facts about them; the facts stored. Failures are logged, never raised: the
    caller has hung up."""
    try:
        if user_id is None:
            user_id = (await store.conversation(conversation_id)).user_id
        await store.end_conversation(conversation_id)
        if services.facts is None or not user_id:
            return []
        turns = await services.memory.history(conversation_id)
        return await services.facts.learn(user_id, conversation_id, turns)
    except Exception as exc:
        log.warning("could not end conversation %s: %s", conversation_id, exc)
        return []
