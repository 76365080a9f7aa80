"""A place in the request reaches the tool call, and the spoken answer uses the tool's result:
the packaged model through the whole agent turn (skipped without the embedded extra)."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
import pytest_asyncio
from embedded_gate import require_embedded

require_embedded()

from agent.backends.llama_cpp.chat import LlamaCppChatModel  # noqa: E402
from agent.models.cache import ModelStore  # noqa: E402
from agent.models.catalog import DEFAULT_MODELS  # noqa: E402
from agent.models.errors import ModelUnavailableError  # noqa: E402
from agent.voice_agent import VoiceAgent  # noqa: E402

pytestmark = [
    pytest.mark.embedded,
    pytest.mark.asyncio(loop_scope="session"),
    pytest.mark.timeout(300),
]

WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def agent() -> VoiceAgent:
    try:
        path = ModelStore(progress=False).resolve(DEFAULT_MODELS["llm"])
    except ModelUnavailableError as exc:
        pytest.skip(f"embedded model weights are not installed: {exc}")
    # Greedy decoding, so a failure repeats; the default agent: get_date_time offered.
    return VoiceAgent(LlamaCppChatModel(path, temperature=0.0), learn_facts=False,
                      fact_embed=None)


def tokyo_weekday() -> str:
    return WEEKDAYS[datetime.now(UTC).astimezone(ZoneInfo("Asia/Tokyo")).weekday()]


async def test_the_weekday_in_tokyo_is_tokyos(agent: VoiceAgent):
    before = tokyo_weekday()
    reply = await agent.arespond("What day of the week is it in Tokyo?", synthesize=False)
    after = tokyo_weekday()  # the turn may cross midnight in Tokyo
    print(f"\ntokyo: calls={[(r.name, r.arguments) for r in reply.tool_results]} "
          f"result={[r.content for r in reply.tool_results]} reply={reply.text!r}")
    result = next(r for r in reply.tool_results if r.name == "get_date_time")
    assert result.arguments == {"timezone": "Asia/Tokyo"}
    assert not result.is_error, result.content
    weekday = json.loads(result.content)["weekday"]
    assert weekday in {before, after}
    said = set(re.findall("|".join(WEEKDAYS), reply.text, flags=re.IGNORECASE))
    assert {d.capitalize() for d in said} == {weekday}, (
        f"the reply should say {weekday} (the tool's weekday) and no other: {reply.text!r}")
