"""Turn figures: Prometheus `/metrics` scraped over real HTTP, `session.stats` on the socket,
and `/v1/stats`."""

from __future__ import annotations

import httpx
import pytest

from realtime_server import make_agent, open_client, serve, utterance

prometheus = pytest.importorskip("prometheus_client.parser")

STAGES = ["end_of_speech_detected", "final_transcript", "llm_first_token", "first_sentence",
          "first_audio_sent"]


def scrape(server) -> dict[tuple[str, tuple], float]:
    response = httpx.get(server.http + "/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    samples = {}
    for family in prometheus.text_string_to_metric_families(response.text):
        for s in family.samples:
            samples[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return samples


async def test_metrics_count_turns_stages_speculation_sessions_and_errors():
    agent, model, _ = make_agent()
    with serve(agent, metrics=True) as server:
        before = scrape(server)
        client = await open_client(server.url)
        during = scrape(server)
        await client.ws.send("{not json")  # one error event
        await client.stream(utterance(0.6))
        done = await client.wait_type("response.done")
        stats = await client.wait_type("session.stats")
        await client.close()
        after = await _scrape_when(server, lambda m: m[("stepvox_realtime_active_sessions",
                                                        ())] == 0)
    assert before[("stepvox_realtime_active_sessions", ())] == 0
    assert during[("stepvox_realtime_active_sessions", ())] == 1
    assert before[("stepvox_realtime_turns_total", (("status", "completed"),))] == 0
    assert after[("stepvox_realtime_turns_total", (("status", "completed"),))] == 1
    assert after[("stepvox_realtime_errors_total", (("code", "invalid_json"),))] == 1
    spec = {o: after[("stepvox_realtime_speculations_total", (("outcome", o),))]
            for o in ("started", "committed", "discarded")}
    assert spec == {"started": 1, "committed": 1, "discarded": 0}
    assert after[("stepvox_realtime_speculation_commit_ratio", ())] == 1.0
    assert after[("stepvox_realtime_barge_ins_total", ())] == 0
    stages = done["response"]["stages_ms"]
    assert list(stages) == STAGES
    for stage in STAGES:
        assert after[("stepvox_realtime_turn_stage_seconds_count", (("stage", stage),))] == 1
        assert after[("stepvox_realtime_turn_stage_seconds_sum", (("stage", stage),))] == (
            pytest.approx(stages[stage] / 1000, abs=1e-6))
    saved = done["response"]["speculation_saved_ms"]
    assert saved > 0
    assert after[("stepvox_realtime_speculation_saved_seconds_sum", ())] == pytest.approx(
        saved / 1000, abs=1e-6)
    session = stats["session"]
    assert session["turns"] == {"completed": 1, "cancelled": 0, "failed": 0}
    assert session["speculation"]["commit_rate"] == 1.0
    assert session["speculation"]["saved_ms_total"] == pytest.approx(saved, abs=0.1)
    assert session["first_audio_ms_mean"] == pytest.approx(stages["first_audio_sent"], abs=0.1)
    assert stats["server"]["turns"]["completed"] == 1


async def _scrape_when(server, cond, timeout=5.0):
    import asyncio
    import time

    deadline = time.monotonic() + timeout
    while True:
        samples = scrape(server)
        if cond(samples) or time.monotonic() > deadline:
            return samples
        await asyncio.sleep(0.02)


async def test_server_figures_add_up_sessions_and_session_figures_do_not():
    agent, model, _ = make_agent(["One.", "Two."])
    with serve(agent) as server:
        assert httpx.get(server.http + "/metrics").status_code == 404  # not switched on
        stats = []
        for text in ("hi", "hello"):
            client = await open_client(server.url)
            await client.send("conversation.item.create", item={
                "role": "user", "content": [{"type": "input_text", "text": text}]})
            await client.send("response.create")
            stats.append(await client.wait_type("session.stats"))
            await client.close()
        overall = httpx.get(server.http + "/v1/stats").json()
    assert [s["session"]["turns"]["completed"] for s in stats] == [1, 1]
    assert [s["server"]["turns"]["completed"] for s in stats] == [1, 2]
    assert stats[0]["session"]["speculation"]["commit_rate"] is None  # text turns: none ran
    assert overall["turns"]["completed"] == 2 and overall["speculation"]["started"] == 0
