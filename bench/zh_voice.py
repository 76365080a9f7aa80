"""The Mandarin voice, measured: Chinese and mixed sentences through the voice, then Whisper
base (language zh), with character error rate, real-time factor and first-clause latency.

Sentences: bench/data/zh_voice_sentences.tsv (plain Mandarin, numbers, dates and times, names,
English words inside Chinese). The voice is the embedded stack's for a zh persona: the
Mandarin voice for Chinese characters, Piper for English words (`BilingualDecoder`).
First clause: from the call to the decoder to its first audio chunk (what a listener waits
for once the reply's first sentence is known). RTF: synthesis time / audio duration.

    .venv/bin/python bench/zh_voice.py [--limit 20] [--threads 1] [--json out.json]
    .venv/bin/python bench/zh_voice.py --voice kokoro-ja   # a candidate (bench/zh_voice_candidates.py)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from bench.machine import print_machine  # noqa: E402
from bench.stats import console, fmt, make_table, summarize  # noqa: E402

out = console()
SENTENCES = ROOT / "bench" / "data" / "zh_voice_sentences.tsv"
MANDARIN_CATEGORIES = ("plain", "numbers", "dates", "names")


@dataclass
class Measured:
    category: str
    text: str
    heard: str
    cer: float
    first_clause_ms: float
    synth_s: float
    audio_s: float

    @property
    def rtf(self) -> float:
        return self.synth_s / self.audio_s if self.audio_s else float("nan")


def load_sentences(limit: int | None = None) -> list[tuple[str, str]]:
    rows = [line.split("\t", 1) for line in SENTENCES.read_text(encoding="utf-8").splitlines()
            if line.strip() and not line.startswith("#")]
    pairs = [(c.strip(), s.strip()) for c, s in rows]
    if limit:
        # An even spread over the categories, not the first N plain sentences.
        step = max(1, len(pairs) // limit)
        pairs = pairs[::step][:limit]
    return pairs


def stack_voice(threads: int):
    """The zh persona's decoder and a multilingual Whisper base listening for Chinese."""
    from agent.models.store import model_store
    from agent.setup.language_voices import mandarin_decoder
    from agent.settings import StepvoxSettings
    from speech.piper.decoder import PiperDecoder
    from speech.script_routing import BilingualDecoder
    from speech.whisper.asr import WhisperSpeechTokenizer

    store = model_store(StepvoxSettings(), progress=False)
    english = PiperDecoder(Path(store.resolve_for_role("tts")))
    decoder = BilingualDecoder(mandarin_decoder(store, threads=threads), english, primary="zh")
    asr = WhisperSpeechTokenizer(store.resolve("whisper-base"), language="zh", cpu_threads=2)
    return decoder, asr


async def measure_one(decoder, asr, category: str, text: str) -> Measured:
    from speech.audio import AudioClip
    from speech.scoring.character_error_rate import character_error_rate

    start = time.perf_counter()
    first = None
    parts: list[np.ndarray] = []
    async for chunk in decoder.synthesize(text):
        if first is None:
            first = time.perf_counter() - start
        parts.append(chunk.samples)
    synth_s = time.perf_counter() - start
    samples = np.concatenate(parts) if parts else np.zeros(1600, np.float32)
    clip = AudioClip(np.clip(samples, -1, 1).astype(np.float32), decoder.sample_rate)
    heard = (await asyncio.to_thread(asr.transcribe_sync, clip)).text
    return Measured(category, text, heard, character_error_rate(text, heard),
                    (first or synth_s) * 1000, synth_s, clip.duration_s)


def report(results: list[Measured], title: str) -> dict:
    table = make_table(title, ["sentences", "n", "CER %", "RTF", "first clause p50 ms",
                               "first clause p95 ms", "audio s (mean)"])
    groups = {"Mandarin (no English)": [r for r in results if r.category in MANDARIN_CATEGORIES],
              **{c: [r for r in results if r.category == c]
                 for c in (*MANDARIN_CATEGORIES, "mixed")},
              "all": results}
    summary = {}
    for name, rows in groups.items():
        if not rows:
            continue
        # CER over the pooled characters would weight long sentences; the mean of per-sentence
        # CERs is what a listener meets sentence by sentence.
        cer = 100 * float(np.mean([r.cer for r in rows]))
        rtf = sum(r.synth_s for r in rows) / sum(r.audio_s for r in rows)
        first = summarize(r.first_clause_ms for r in rows)
        table.add_row(name, str(len(rows)), fmt(cer, 1), fmt(rtf, 3), fmt(first.p50),
                      fmt(first.p95), fmt(float(np.mean([r.audio_s for r in rows])), 1))
        summary[name] = {"n": len(rows), "cer_pct": cer, "rtf": rtf,
                         "first_clause_ms": first.as_dict()}
    out.print(table)
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=None, help="measure N sentences (spread)")
    parser.add_argument("--threads", type=int, default=1, help="LiteRT threads for the voice")
    parser.add_argument("--voice", default="stack", help="'stack' or a candidate name")
    parser.add_argument("--worst", type=int, default=8, help="list the N worst sentences")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    machine = print_machine(out)
    if args.voice == "stack":
        decoder, asr = stack_voice(args.threads)
    else:
        from bench.zh_voice_candidates import candidate_voice

        decoder, asr = candidate_voice(args.voice, args.threads)
    pairs = load_sentences(args.limit)
    asyncio.run(measure_one(decoder, asr, "warm-up", "你好。"))
    results = [asyncio.run(measure_one(decoder, asr, c, s)) for c, s in pairs]
    summary = report(results, f"Mandarin voice '{args.voice}' -> Whisper base (zh), "
                              f"{len(results)} sentences")
    for r in sorted(results, key=lambda r: -r.cer)[:args.worst]:
        out.print(f"CER {100 * r.cer:5.1f} %  {r.text}  ->  {r.heard}", markup=False)
    if args.json:
        args.json.write_text(json.dumps({"machine": machine, "voice": args.voice,
                                         "summary": summary,
                                         "sentences": [asdict(r) for r in results]},
                                        ensure_ascii=False, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
