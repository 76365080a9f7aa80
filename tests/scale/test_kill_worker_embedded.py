"""The acceptance check once more with the real embedded model (the packaged Qwen2.5 0.5B on
llama.cpp, `--model` left at its default) in both workers: a name told to worker 1, worker 1
killed with SIGKILL, worker 2 asked in the same conversation. Slow (two workers load the
models on a shared machine), so marked like the other embedded end-to-end tests."""

from __future__ import annotations

import json
import uuid

import pytest

from cluster_env import stored_turns, url_for
from embedded_gate import require_embedded
from test_kill_worker import TOKENS, open_on
from workers import Worker, say

require_embedded()
pytestmark = pytest.mark.embedded
TURN_TIMEOUT_S = 300  # the 0.5B model on two busy cores


async def test_worker_2_on_the_real_model_answers_the_name_told_to_killed_worker_1(
        tmp_path, pg_schema, redis_url):
    tokens = tmp_path / "tokens.json"
    tokens.write_text(json.dumps(TOKENS))
    workers = [Worker(f"embedded{i}", tmp_path, llm_url=None, database_url=url_for(pg_schema),
                      redis_url=redis_url, tokens_file=tokens) for i in (1, 2)]
    conversation = f"call-{uuid.uuid4().hex[:12]}"
    try:
        for worker in workers:
            worker.wait_ready()
        one, two = workers
        client = await open_on(one, conversation)
        await say(client, "Hello, my name is Alice.", timeout=TURN_TIMEOUT_S, played=False)
        one.kill9()
        await client.ws.close()
        resumed = await open_on(two, conversation)
        created = resumed.of("session.created")
        asked = await say(resumed, "What is my name?", timeout=TURN_TIMEOUT_S)
        await resumed.close()
    finally:
        for worker in workers:
            worker.stop()
    assert created and created[0]["resumed"] is True
    assert stored_turns(pg_schema, conversation)[0][1] == "Hello, my name is Alice."
    assert asked["response"]["status"] == "completed"
    assert "Alice" in asked["response"]["output_text"], asked["response"]["output_text"]
