"""小跃 in a real `stepvox serve` session: Mandarin audio in, Mandarin audio out.

The server is the installed console script in a child process (the `server` fixture of
test_personas_serve.py), loaded for English as it always is; the session picks the persona
with `session.update`. Tried: "中国的首都是哪个城市？" spoken by the Mandarin voice, streamed as
16 kHz pcm16 over a real websocket. The server must hear it with Whisper listening for Chinese
(an English Whisper writes Latin letters or nothing) and answer with the Mandarin voice (the
English voice reads Han characters as "Chinese letter"), which Whisper base, told the audio
is Chinese, transcribes as the Chinese reply the server sent as text.
"""

from __future__ import annotations

import base64
import re
import sys
from pathlib import Path

import numpy as np
import pytest

from embedded_gate import require, require_embedded

require_embedded()
require("ai_edge_litert", "pypinyin")
require("opencc", extra="eval")
pytestmark = pytest.mark.embedded

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "realtime"))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from realtime_server import open_client  # noqa: E402  the realtime tests' websocket client
from realtime_signals import silence  # noqa: E402
from test_personas_serve import server  # noqa: E402,F401  `stepvox serve` in a child process

from agent.models.store import model_store  # noqa: E402
from agent.setup.language_voices import mandarin_decoder  # noqa: E402
from agent.settings import StepvoxSettings  # noqa: E402
from speech.audio import AudioClip  # noqa: E402
from speech.scoring.character_error_rate import character_error_rate  # noqa: E402
from speech.whisper.asr import WhisperSpeechTokenizer  # noqa: E402

QUESTION = "中国的首都是哪个城市？"
HAN = re.compile(r"[\u4e00-\u9fff]")


@pytest.fixture(scope="module")
def speech_models():
    store = model_store(StepvoxSettings(), progress=False)
    return (mandarin_decoder(store),
            WhisperSpeechTokenizer(store.resolve("whisper-base"), language="zh", cpu_threads=2))


async def test_xiaoyue_hears_and_speaks_mandarin_over_the_websocket(server, speech_models):
    voice, whisper_zh = speech_models
    spoken = np.concatenate([c.samples async for c in voice.synthesize(QUESTION)])
    question = AudioClip(spoken, voice.sample_rate).resampled(16_000).samples
    client = await open_client(server)
    try:
        await client.send("session.update", session={"persona": "xiaoyue"})
        updated = await client.wait_type("session.updated", timeout=60)
        assert not client.of("error"), client.of("error")
        # The Mandarin voice's rate: the bilingual voice resamples Piper's English words to it.
        assert updated["session"]["output_sample_rate"] == 24_000
        await client.stream(np.concatenate([silence(0.3), question, silence(1.5)]))
        done = await client.wait_type("response.done", timeout=300)
    finally:
        await client.close()
    assert not client.of("error"), client.of("error")
    assert done["response"]["status"] == "completed"
    heard = client.of("conversation.item.input_audio_transcription.completed")[0]["transcript"]
    assert character_error_rate(QUESTION, heard) <= 0.3, f"the server heard {heard!r}"

    said = "".join(e["delta"] for e in client.of("response.text.delta"))
    assert len(HAN.findall(said)) >= 2, f"小跃 answered {said!r}"
    deltas = client.of("response.audio.delta")
    assert deltas and {d["sample_rate"] for d in deltas} == {24_000}
    pcm = b"".join(base64.b64decode(d["delta"]) for d in deltas)
    reply = np.frombuffer(pcm, dtype="<i2").astype(np.float32) / 32768
    back = whisper_zh.transcribe_sync(AudioClip(reply, 24_000)).text
    assert len(HAN.findall(back)) >= 2, f"Whisper heard the reply audio as {back!r}"
    assert character_error_rate(said, back) <= 0.35, (said, back)
