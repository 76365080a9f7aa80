"""The memory parts of an agent's services, from its options: the summary folder (with a token
budget), caller facts (with a SQL history store), the turn-audio archive (with a folder)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agent.recall.caller import sql_store
from agent.chat_model import ChatModel
from agent.turn.prompt import check_persona_fits
from memory import DialogueStore
from personas import Persona


@dataclass(frozen=True, slots=True)
class MemoryOptions:
    history_token_budget: int | None = None
    audio_dir: str | Path | None = None
    learn_facts: bool = True
    fact_embed: Any = "minilm"  # an `Embed`, None (keyword recall) or "minilm"
    summary_max_tokens: int | None = None  # None: a fifth of the budget, 40 to 300


def memory_services(chat_model: ChatModel, memory: DialogueStore, persona: Persona,
                    options: MemoryOptions) -> dict[str, Any]:
    """Keyword arguments for `TurnServices`."""
    budget = options.history_token_budget
    if budget is not None and budget <= 0:
        raise ValueError(f"history_token_budget must be a positive number of tokens, not {budget}")
    check_persona_fits(persona.full_system_prompt(), budget)
    folder = None
    if budget is not None and hasattr(memory, "save_summary"):
        from agent.recall.summary_folding import ChatModelSummarizer, SummaryFolder

        limit = options.summary_max_tokens or max(40, min(300, budget // 5))
        folder = SummaryFolder(ChatModelSummarizer(chat_model), summary_max_tokens=limit)
    facts = None
    store = sql_store(memory)
    if options.learn_facts and store is not None:
        from agent.recall.fact_recall import CallerFacts, minilm_embed

        embed = minilm_embed() if options.fact_embed == "minilm" else options.fact_embed
        facts = CallerFacts(store, chat_model, persona.name, embed=embed)
    archive = None
    if options.audio_dir is not None:
        from agent.recall.audio_archive import TurnAudioArchive

        archive = TurnAudioArchive(options.audio_dir)
    return {"history_token_budget": budget, "folder": folder, "facts": facts,
            "audio_archive": archive}
