"""How often the holds on made-up numbers (`tools.calls.produced_values`: a reading another
tool gives, a number only the caller can give) would hold back an accepted BFCL v4 answer:
over every AST category (reported, live and executable), each required number of an
accepted call that the entry's question does not say is put to `producing_tool` and
`callers_own`, with the guard (no figure anywhere in the question) and without it. An
entry counts once, however many of its values are held. No model runs: these are the
answers BFCL accepts, so every hold counted here is one the rule would get wrong.

    .venv/bin/python bench/produced_values_check.py
"""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.bfcl_data import CALIBRATION, REPORTED, load_category  # noqa: E402
from tools.calls.produced_values import (  # noqa: E402
    callers_own, holds_a_number, producing_tool,
)
from tools.calls.schema_examples import said_number  # noqa: E402


def held_values(case, guarded: bool) -> list[str]:
    """`function.parameter=value` for each required number the rule would hold."""
    text = "\n".join(str(m.get("content") or "") for m in case.question)
    if guarded and holds_a_number(text):
        return []
    functions = {f["name"]: f for f in case.functions}
    held = []
    for call in case.possible_answer or []:
        for name, arguments in call.items():
            function = functions.get(name) or {}
            required = set((function.get("parameters") or {}).get("required") or ())
            for parameter, accepted in arguments.items():
                numbers = [v for v in accepted
                           if isinstance(v, (int, float)) and not isinstance(v, bool)]
                if parameter not in required or not numbers or "" in accepted or \
                        any(said_number(v, text) for v in numbers):
                    continue
                if producing_tool(parameter, function, case.functions) is not None or \
                        callers_own(parameter):
                    held.append(f"{name}.{parameter}={numbers[0]}")
    return held


def main() -> None:
    categories = [c for c in (*REPORTED, *CALIBRATION) if c not in
                  ("irrelevance", "live_irrelevance", "live_relevance")]
    counts: dict[bool, Counter] = {True: Counter(), False: Counter()}
    seen = Counter()
    examples: list[str] = []
    for category in categories:
        for case in load_category(category):
            seen[category] += 1
            for guarded in (True, False):
                held = held_values(case, guarded)
                if held:
                    counts[guarded][category] += 1
                    if not guarded:
                        examples.append(f"{case.id}: {', '.join(held)}")
    print(f"{'category':<26}{'entries':>8}{'held, guarded':>15}{'held, no guard':>16}")
    for category in categories:
        print(f"{category:<26}{seen[category]:>8}{counts[True][category]:>15}"
              f"{counts[False][category]:>16}")
    print(f"{'all':<26}{sum(seen.values()):>8}{sum(counts[True].values()):>15}"
          f"{sum(counts[False].values()):>16}")
    print("\nheld without the guard:")
    for line in examples:
        print("  " + line)


if __name__ == "__main__":
    main()
