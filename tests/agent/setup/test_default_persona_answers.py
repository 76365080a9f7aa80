"""The default persona answers plain factual questions through the REAL embedded stack.

The framework's prompt (persona, speaking rules, tools, turn note) once cost answers the bare
model gets right: "Who painted the Mona Lisa?" got "I'm sorry, but I can't assist with that"
and "how many days are in a week?" got "2". These turns go through `VoiceAgent` with text in
(default persona, default tools, a fresh conversation each) and must name the answer;
`bench/spoken_qa.py` measures the same over hundreds of spoken questions.
"""

from __future__ import annotations

import uuid

import pytest
import pytest_asyncio

from embedded_gate import EVAL_MODULES, require, require_embedded

require_embedded()
require(*EVAL_MODULES, extra="eval")

from agent.setup.embedded_stack import load_embedded_stack  # noqa: E402
from agent.models.errors import ModelUnavailableError  # noqa: E402
from agent.voice_agent import VoiceAgent  # noqa: E402
from speech.scoring.word_error_rate import normalize_transcript  # noqa: E402

pytestmark = [
    pytest.mark.embedded,
    pytest.mark.asyncio(loop_scope="session"),
    pytest.mark.timeout(300),
]

# (question, accepted answers): questions the framework used to get wrong while the bare
# model got them right.
CASES = [
    ("Who painted the Mona Lisa?", ("Leonardo", "da Vinci")),
    ("How many days are there in a week?", ("7",)),
    ("How many degrees are in a right angle?", ("90",)),
    ("What is the capital of Japan?", ("Tokyo",)),
]


def names(reply: str, answers: tuple[str, ...]) -> bool:
    """Any answer's words, in order, among the reply's (numbers as words on both sides)."""
    said = f" {normalize_transcript(reply)} "
    return any(f" {normalize_transcript(a)} " in said for a in answers)


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def agent() -> VoiceAgent:
    try:
        stack = load_embedded_stack(progress=False)
    except ModelUnavailableError as exc:  # the code is installed but a weights package is not
        pytest.skip(f"embedded model weights are not installed: {exc}")
    voice_agent = VoiceAgent.from_stack(stack)
    await voice_agent.warm_up()
    return voice_agent


@pytest.mark.parametrize(("question", "answers"), CASES, ids=[c[0] for c in CASES])
async def test_default_persona_names_the_answer(agent: VoiceAgent, question: str,
                                                answers: tuple[str, ...]):
    reply = await agent.arespond(question, conversation_id=f"qa-{uuid.uuid4().hex}",
                                 synthesize=False)
    assert reply.tool_results == [], f"called {reply.tool_names} for {question!r}"
    assert names(reply.text, answers), f"{question!r} -> {reply.text!r}"
