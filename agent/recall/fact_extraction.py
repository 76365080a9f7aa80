"""Facts about the caller, written by the agent's own chat model after a conversation.

The model reads what the caller said and answers `Facts: {"facts": [{"kind": ..., "text":
...}]}`, kinds `name`, `preference`, `open_case`, `other`. The answer is validated with
pydantic; anything else (prose, broken JSON, unknown kinds) raises `FactExtractionError` and
nothing is stored: a wrong "fact" would follow the caller into every later conversation.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence

from pydantic import BaseModel, Field, ValidationError, field_validator

from agent.chat_model import ChatMessage, ChatModel, complete_text
from memory import DialogueTurn
from memory.user_facts import FactKind

# The newest part of a long conversation: the small local model has a 4k-token context.
MAX_TRANSCRIPT_CHARS = 6000
# Two lessons from the packaged 0.5B model: a JSON answer must not start with "{" (the
# embedded backend reads that as a tool call), hence the "Facts:" label; and concrete example
# facts get copied into the answer, hence KIND and SENTENCE placeholders.
EXTRACTION_INSTRUCTIONS = (
    "You keep notes about a caller for the next time they call. Below is what the caller "
    "said. Note every lasting fact about the caller: their name, each preference (what they "
    "like, dislike, always or never want), each open case (an order, booking, complaint or "
    "request still pending), and other lasting facts about them. Skip greetings and one-off "
    "questions. Write each fact as a short sentence about the user, using the caller's own "
    "key words. Answer with the word Facts: followed by JSON, in this form:\n"
    'Facts: {"facts": [{"kind": KIND, "text": SENTENCE}, ...]}\n'
    'KIND is one of "name", "preference", "open_case", "other". With nothing to note, '
    'answer Facts: {"facts": []}'
)
_WRAPPING = re.compile(r"^(?:facts\s*:\s*)?(?:```(?:json)?)?\s*|\s*```$", re.I)


class FactExtractionError(ValueError):
    """The model's answer was not the JSON list of facts it was asked for."""


class ExtractedFact(BaseModel):
    kind: FactKind
    text: str = Field(min_length=3, max_length=300)

    @field_validator("text")
    @classmethod
    def _one_line(cls, value: str) -> str:
        return " ".join(value.split())


class ExtractedFacts(BaseModel):
    facts: list[ExtractedFact] = Field(default_factory=list, max_length=20)


def extraction_messages(turns: Sequence[DialogueTurn]) -> list[ChatMessage]:
    """The caller's own words only: facts are about them, and a small model given the whole
    dialogue notes the assistant's lines as the caller's."""
    said = "\n".join(f"- {t.text.strip()}" for t in turns if t.role == "user" and t.text.strip())
    said = said[-MAX_TRANSCRIPT_CHARS:]
    return [ChatMessage(role="system", content=EXTRACTION_INSTRUCTIONS),
            ChatMessage(role="user", content=f"What the caller said:\n{said}")]


def parse_facts(answer: str) -> list[ExtractedFact]:
    """The model's answer -> validated facts. Accepts the object form or a bare list, after
    an optional "Facts:" label and inside an optional Markdown code fence. Questions are not
    facts (a small model notes "What time is it?" as an open case): they are left out."""
    body = _WRAPPING.sub("", answer.strip())
    try:
        data = json.loads(body)
    except json.JSONDecodeError as exc:
        raise FactExtractionError(f"not JSON ({exc.msg}): {answer[:120]!r}") from exc
    if isinstance(data, list):
        data = {"facts": data}
    try:
        facts = ExtractedFacts.model_validate(data).facts
    except ValidationError as exc:
        problem = exc.errors()[0]
        raise FactExtractionError(
            f"not a list of facts ({problem['msg']} at {problem['loc']}): {answer[:120]!r}"
        ) from exc
    return [f for f in facts if not f.text.endswith("?")]


async def extract_facts(chat_model: ChatModel, turns: Sequence[DialogueTurn]) -> list[ExtractedFact]:
    """Ask the model (tools forbidden) for the conversation's facts; raises
    `FactExtractionError` when its answer is unusable."""
    return parse_facts(await complete_text(chat_model, extraction_messages(turns)))
