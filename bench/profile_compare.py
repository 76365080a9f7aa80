"""The two profiles' LLMs side by side: short general-knowledge answers, invented facts, speed.

Both packaged LLMs ('default' = Qwen2.5-Coder 0.5B as loaded, IQ4_NL; 'quality' =
Qwen2.5-Coder 1.5B Q4_K_M) are loaded into one process and asked the same questions through
the embedded backend (`LlamaCppChatModel.stream`, no tools, a one-line system prompt),
alternating which model goes first, so both see the same machine load. Any other GGUF can be
added with `--gguf NAME=PATH` (e.g. a candidate general-instruct model).

- QA: 40 general-knowledge questions with short accepted answers; a reply is right when an
  accepted answer appears in it as whole words (case, accents and punctuation ignored).
- Invented facts: 10 questions about things that do not exist (a made-up country, book,
  element...). A reply that does not decline (no "not aware", "fictional", "doesn't exist",
  ... in it) counts as invented. Crude: read the printed replies too (`--show`).
- Speed: ms to the first text piece (prefill + decision), and decoded tokens per second
  after it, per model (median).

    .venv/bin/python bench/profile_compare.py [--limit N] [--threads 2] [--show] [--out F]

A benchmark, never a test: it asserts nothing. Needs the `embedded` and `llm-1-5b` extras.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import statistics
import sys
import time
import unicodedata
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # the models ship inside packages; never the hub

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from agent.chat_model import ChatMessage, TextDelta  # noqa: E402
from agent.models.store import model_store  # noqa: E402
from agent.models.catalog import PROFILE_LLM  # noqa: E402
from agent.settings import StepvoxSettings  # noqa: E402

SYSTEM = "You are a helpful voice assistant: answer in one short spoken sentence."

# (question, accepted answers). Written for this bench; numbers in digits and words.
QA: list[tuple[str, list[str]]] = [
    ("What is the capital of Australia?", ["Canberra"]),
    ("What is the capital of Canada?", ["Ottawa"]),
    ("What is the capital of Kenya?", ["Nairobi"]),
    ("What is the capital of Turkey?", ["Ankara"]),
    ("Which planet is known as the Red Planet?", ["Mars"]),
    ("What is the largest planet in our solar system?", ["Jupiter"]),
    ("Who wrote Romeo and Juliet?", ["Shakespeare"]),
    ("Who painted the Mona Lisa?", ["Leonardo", "da Vinci"]),
    ("Who wrote the novel Pride and Prejudice?", ["Jane Austen", "Austen"]),
    ("What is the chemical symbol for gold?", ["Au"]),
    ("What gas do plants absorb from the air for photosynthesis?", ["carbon dioxide", "CO2"]),
    ("How many continents are there on Earth?", ["7", "seven"]),
    ("How many legs does a spider have?", ["8", "eight"]),
    ("What is the boiling point of water in degrees Celsius at sea level?", ["100", "one hundred"]),
    ("What is the longest river in South America?", ["Amazon"]),
    ("What is the tallest mountain in the world?", ["Everest"]),
    ("Which ocean is the largest?", ["Pacific"]),
    ("In which country are the pyramids of Giza?", ["Egypt"]),
    ("What language is mainly spoken in Brazil?", ["Portuguese"]),
    ("What is the currency of Japan?", ["yen"]),
    ("Who was the first person to walk on the moon?", ["Armstrong"]),
    ("In what year did World War Two end?", ["1945"]),
    ("Who developed the theory of relativity?", ["Einstein"]),
    ("What is the hardest natural substance?", ["diamond"]),
    ("What is the largest mammal on Earth?", ["blue whale"]),
    ("How many days are there in a leap year?", ["366"]),
    ("What is the freezing point of water in degrees Fahrenheit?", ["32", "thirty-two",
                                                                     "thirty two"]),
    ("Which organ pumps blood around the human body?", ["heart"]),
    ("What is the smallest prime number?", ["2", "two"]),
    ("What is the square root of 81?", ["9", "nine"]),
    ("Which element has the chemical symbol O?", ["oxygen"]),
    ("Who composed the Fifth Symphony that opens with four famous notes?", ["Beethoven"]),
    ("What is the largest desert in Africa?", ["Sahara"]),
    ("Which country gifted the Statue of Liberty to the United States?", ["France"]),
    ("What is the main language spoken in Mexico?", ["Spanish"]),
    ("How many minutes are in one hour?", ["60", "sixty"]),
    ("What do bees make?", ["honey"]),
    ("Which instrument has 88 keys?", ["piano"]),
    ("What is the capital city of Italy?", ["Rome"]),
    ("Which animal is known as the king of the jungle?", ["lion"]),
]

# Things that do not exist: the right answer declines or says so.
UNANSWERABLE: list[str] = [
    "What is the capital of the country Zembravia?",
    "Who wrote the novel The Glass Orchards of Velmont?",
    "What is the atomic number of the element drevonium?",
    "In what year did the city of Quarnish join the European Union?",
    "Who won the 1987 Nobel Prize in Telepathy?",
    "What is the population of the island of Tessamure?",
    "Who was the third king of the Republic of Oslandia?",
    "What is the melting point of the metal fluxarite?",
    "Which river flows through the town of Brenwick-on-Sallow in Peru?",
    "What did the philosopher Amadeo Krellish say about time?",
]
_DECLINE = re.compile(
    r"not aware|no (?:such|record|information|known|widely known|country|element|city|island)"
    r"|(?:does|do|did)(?: not|n't) (?:exist|have)|not (?:a )?real|fictional|imaginary|made[- ]up"
    r"|(?:don't|do not|couldn't|could not|can't|cannot) (?:know|find|provide|verify)|not sure"
    r"|unfamiliar|not familiar|no nobel|there is no|there's no|isn't a|is not a|unknown to me"
    r"|doesn't appear|does not appear|not (?:recognized|known)|i'm sorry|i am sorry")


def _norm(text: str) -> str:
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return " " + re.sub(r"[^a-z0-9]+", " ", text.lower()).strip() + " "


def is_right(reply: str, answers: list[str]) -> bool:
    said = _norm(reply)
    return any(_norm(a) in said for a in answers)


def invents(reply: str) -> bool:
    return _DECLINE.search(reply.lower()) is None


async def ask(model, question: str) -> dict:
    messages = [ChatMessage(role="system", content=SYSTEM), ChatMessage(role="user", content=question)]
    start = time.perf_counter()
    first = last = None
    pieces: list[str] = []
    async for event in model.stream(messages, ()):
        if isinstance(event, TextDelta) and event.text:
            last = time.perf_counter()
            first = first or last
            pieces.append(event.text)
    text = "".join(pieces).strip()
    tokens = len(model._llm.tokenize(text.encode(), add_bos=False, special=False)) if text else 0
    decode_s = (last - first) if first and last else 0.0
    return {"text": text, "first_ms": 1000 * ((first or time.perf_counter()) - start),
            "tokens": tokens, "tok_s": (tokens - 1) / decode_s if tokens > 1 and decode_s else None}


def load(path: Path, threads: int | None):
    from agent.backends.llama_cpp.chat import LlamaCppChatModel

    # Greedy, so a rerun gives the same replies; 48 tokens hold any one-sentence answer.
    return LlamaCppChatModel(path, n_ctx=1024, n_threads=threads, temperature=0.0, max_tokens=48,
                             tool_prior=None, estimate_turn_end=False)


async def run(args) -> dict:
    paths: dict[str, Path] = {}
    for profile in PROFILE_LLM:
        settings = StepvoxSettings(profile=profile)
        paths[profile] = Path(model_store(settings).resolve_for_role("llm"))
    for spec in args.gguf:
        name, _, path = spec.partition("=")
        paths[name] = Path(path)
    models = {name: load(path, args.threads) for name, path in paths.items()}
    items = [("qa", q, a) for q, a in QA[: args.limit]] + [
        ("unanswerable", q, []) for q in UNANSWERABLE[: args.limit]]
    rows: list[dict] = []
    for i, (kind, question, answers) in enumerate(items):
        order = list(models) if i % 2 == 0 else list(reversed(models))  # same load for both
        for name in order:
            result = await ask(models[name], question)
            result.update(model=name, kind=kind, question=question,
                          right=is_right(result["text"], answers) if kind == "qa" else None,
                          invented=invents(result["text"]) if kind == "unanswerable" else None)
            rows.append(result)
            if args.show:
                mark = {True: "ok ", False: "NO ", None: "   "}[
                    result["right"] if kind == "qa" else not result["invented"]]
                print(f"{mark}{name:>8} | {question} -> {result['text']}", flush=True)
    summary = {}
    for name, path in paths.items():
        mine = [r for r in rows if r["model"] == name]
        qa = [r for r in mine if r["kind"] == "qa"]
        un = [r for r in mine if r["kind"] == "unanswerable"]
        rates = [r["tok_s"] for r in mine if r["tok_s"]]
        summary[name] = {
            "file": path.name,
            "qa_right": sum(r["right"] for r in qa), "qa_n": len(qa),
            "invented": sum(r["invented"] for r in un), "unanswerable_n": len(un),
            "first_text_ms_p50": statistics.median(r["first_ms"] for r in mine),
            "decode_tok_s_p50": statistics.median(rates) if rates else None,
            "reply_tokens_p50": statistics.median(r["tokens"] for r in mine),
        }
    return {"summary": summary, "rows": rows, "threads": args.threads}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--limit", type=int, default=None, help="first N of each question list")
    p.add_argument("--threads", type=int, default=None, help="llama.cpp threads (default: all)")
    p.add_argument("--gguf", action="append", default=[], metavar="NAME=PATH",
                   help="another GGUF to ask the same questions")
    p.add_argument("--show", action="store_true", help="print every reply")
    p.add_argument("--out", type=Path, help="write every reply and the summary as JSON here")
    args = p.parse_args()
    started = time.strftime("%H:%M", time.gmtime())
    result = asyncio.run(run(args))
    print(f"\nprofile comparison, {started}-{time.strftime('%H:%M', time.gmtime())} UTC, "
          f"threads={args.threads or os.cpu_count()}, load {os.getloadavg()[0]:.1f}")
    print(f"{'model':>9} {'file':<44} {'QA right':>10} {'invented':>9} "
          f"{'1st text ms':>12} {'tok/s':>6} {'tokens':>7}")
    for name, s in result["summary"].items():
        tok_s = f"{s['decode_tok_s_p50']:.1f}" if s["decode_tok_s_p50"] else "-"
        print(f"{name:>9} {s['file']:<44} {s['qa_right']:>4}/{s['qa_n']:<5} "
              f"{s['invented']:>3}/{s['unanswerable_n']:<5} {s['first_text_ms_p50']:>12.0f} "
              f"{tok_s:>6} {s['reply_tokens_p50']:>7.0f}")
    if args.out:
        args.out.write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
