"""Make the built-in `timbre_rag` audio library (`tools/data/audio_library/`) with the embedded TTS.

Every entry is synthesized by the packaged Piper voice (`piper-joe`) with stepvox's own style
rendering (`speech.piper.style`: speed, pitch, volume, whisper, singing, rap, emotion), trimmed,
resampled to 16 kHz mono and written as 16-bit PCM, next to the sidecars that
`tools.builtin.audio_library.index_audio_folder` reads:

    NAME.wav   the audio (a clip to play, or a ~3 s sample of a voice)
    NAME.txt   what is said in it (the transcript)
    NAME.json  {"kind", "title", "description", "tags"} and, for voices, "style": the `Style`
               fields that make the voice (the indexer ignores the key; the agent side can
               read it with `tools.builtin.audio_library_files.builtin_voice_styles()`)

Run from the repository root (needs the `embedded` extra):

    python scripts/make_audio_library.py [--out tools/data/audio_library]

Piper's sampling noise makes every run sound slightly different; the entries stay the same.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from agent.models.cache import ModelStore
from speech.audio import AudioClip, concatenate, write_wav
from speech.piper.decoder import PiperDecoder
from speech.style import Style

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = ROOT / "tools" / "data" / "audio_library"
SAMPLE_RATE = 16_000
MAX_TOTAL_BYTES = 1_500_000  # the shipped library stays small
SENTENCE_GAP_S = 0.18
EDGE_PAD_S = 0.08


@dataclass(frozen=True)
class Spec:
    id: str
    kind: str  # "clip" | "voice"
    title: str
    description: str
    tags: list[str]
    text: str
    style: dict = field(default_factory=dict)  # `Style` fields; {} is the neutral voice


LIBRARY: list[Spec] = [
    # --- clips: played to the user -------------------------------------------------------
    Spec(
        "skyway_boarding", "clip", "SkyWay boarding announcement",
        "An airport gate announcement for SkyWay Airlines: the flight to Lisbon is now boarding.",
        ["announcement", "airport", "airline", "boarding", "gate", "flight", "skyway"],
        "SkyWay flight to Lisbon is now boarding at gate twelve. Please have your boarding pass ready.",
    ),
    Spec(
        "bedtime_story_whisper", "clip", "Whispered bedtime story",
        "The opening of a bedtime story, whispered softly and slowly.",
        ["whisper", "whispered", "bedtime", "story", "quiet", "sleep", "soft"],
        "Once upon a time, a sleepy little fox curled up under the moon.",
        {"whisper": True, "speed": -1},
    ),
    Spec(
        "lullaby_line", "clip", "Sung lullaby line",
        "A short line of a lullaby, sung gently to a simple melody.",
        ["lullaby", "song", "sung", "singing", "sing", "baby", "gentle"],
        "Hush now, little one, the stars are shining bright.",
        {"singing": True},
    ),
    Spec(
        "rap_line", "clip", "Rap line",
        "A fast rhythmic rap line over an even beat.",
        ["rap", "rapping", "rhyme", "beat", "hip", "hop", "fast"],
        "Mic check, one two, the beat is moving fast, every word I drop is built to last.",
        {"rap": True},
    ),
    Spec(
        "cheerful_welcome", "clip", "Cheerful welcome",
        "A bright, happy greeting that welcomes a guest.",
        ["welcome", "greeting", "hello", "cheerful", "happy", "friendly"],
        "Welcome! We are so happy you are here. Let's have a wonderful day together!",
        {"emotion": "happy", "emotion_level": 2},
    ),
    Spec(
        "breathing_cue", "clip", "Calm breathing exercise cue",
        "A slow, calm relaxation cue that guides one breath in and out.",
        ["breathing", "breathe", "exercise", "calm", "relax", "relaxation", "meditation", "mindfulness"],
        "Breathe in slowly. Now breathe out, and let your shoulders relax.",
        {"speed": -2, "volume": -1},
    ),
    # --- voices: the agent switches to speaking in them (the WAV is a ~3 s sample) -------
    Spec(
        "deep_narrator", "voice", "Deep narrator",
        "A deep, slow, low-pitched male narrator voice for documentaries and audiobooks.",
        ["deep", "low", "slow", "narrator", "narration", "documentary", "audiobook", "male"],
        "Long ago, an old story was waiting to be told.",
        {"pitch": -3, "speed": -2},
    ),
    Spec(
        "bright_presenter", "voice", "Bright presenter",
        "A bright, fast, upbeat presenter voice, high-pitched and energetic like a show host.",
        ["bright", "fast", "high", "upbeat", "energetic", "presenter", "host", "announcer"],
        "Good evening and welcome to the show, tonight is going to be amazing!",
        {"pitch": 2, "speed": 2},
    ),
    Spec(
        "whispering_storyteller", "voice", "Whispering storyteller",
        "A soft whispering storyteller voice, hushed and intimate.",
        ["whispering", "whisper", "storyteller", "hushed", "soft", "quiet", "asmr"],
        "Come closer, and I will tell you a secret tale.",
        {"whisper": True},
    ),
    Spec(
        "singing_voice", "voice", "Singing voice",
        "A melodic singing voice that sings its words to a tune.",
        ["singing", "singer", "sing", "melodic", "tune", "musical"],
        "La la la, I sing my words along a little tune.",
        {"singing": True},
    ),
]


def _trim(samples: np.ndarray, rate: int, threshold: float = 0.01) -> np.ndarray:
    """Cut leading and trailing silence, keeping `EDGE_PAD_S` on each side."""
    loud = np.flatnonzero(np.abs(samples) > threshold)
    if loud.size == 0:
        return samples
    pad = int(EDGE_PAD_S * rate)
    return samples[max(0, loud[0] - pad): loud[-1] + pad + 1]


async def render(decoder: PiperDecoder, spec: Spec) -> AudioClip:
    style = Style(**spec.style) if spec.style else None
    parts: list[AudioClip] = []
    async for chunk in decoder.synthesize(spec.text, style):
        if parts:
            parts.append(AudioClip(np.zeros(int(SENTENCE_GAP_S * chunk.sample_rate), np.float32),
                                   chunk.sample_rate))
        parts.append(AudioClip(np.asarray(chunk.samples, dtype=np.float32), chunk.sample_rate))
    clip = concatenate(parts)
    clip = AudioClip(_trim(clip.samples, clip.sample_rate), clip.sample_rate)
    return clip.resampled(SAMPLE_RATE)


def sidecar(spec: Spec) -> dict:
    meta: dict = {"kind": spec.kind, "title": spec.title, "description": spec.description,
                  "tags": spec.tags}
    if spec.kind == "voice":
        meta["style"] = Style(**spec.style).model_dump(mode="json", exclude_unset=True)
    return meta


async def main(out: Path) -> int:
    voice = ModelStore(progress=False).resolve("piper-joe")
    decoder = PiperDecoder(voice)
    out.mkdir(parents=True, exist_ok=True)
    total = 0
    for spec in LIBRARY:
        clip = await render(decoder, spec)
        wav = write_wav(out / f"{spec.id}.wav", clip)
        (out / f"{spec.id}.txt").write_text(spec.text + "\n", encoding="utf-8")
        (out / f"{spec.id}.json").write_text(
            json.dumps(sidecar(spec), ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
        size = wav.stat().st_size
        total += size
        print(f"{spec.kind:5} {spec.id:24} {clip.duration_s:5.2f} s {size / 1000:7.1f} kB")
    print(f"total {total / 1000:.1f} kB in {out}")
    if total > MAX_TOTAL_BYTES:
        print(f"the library is over {MAX_TOTAL_BYTES / 1e6} MB: shorten some texts", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="folder to write (default %(default)s)")
    sys.exit(asyncio.run(main(parser.parse_args().out)))
