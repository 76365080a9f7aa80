"""Fuzz `/v1/realtime`, character cards and tool arguments with hypothesis; print a table.

The realtime cases go to the real server with fake models (`realtime_fake_server.py`, a
subprocess on loopback, energy VAD) over one websocket; each case is followed by a probe, so
a case counts as answered only once the server has handled it. Cards are imported into a
temporary folder as `stepvox personas import` does; tool arguments go to `Tool.invoke`.
A crash is: a `server_error` event, a probe not answered in 10 s, a socket the server
closed, an exception other than the named ones, or a file written outside its folder.
After the realtime cases, the same socket and a second one each complete a typed turn.

    .venv/bin/python bench/fuzz_realtime.py [--per-kind 500] [--cards 700] [--tool-args 1000]
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
import agent, memory, personas, speech, tools  # noqa: E402,F401,E401  (before tests/ shadows them)

sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "bench"))
from hypothesis import HealthCheck, Phase, given, settings, strategies as st  # noqa: E402

from fuzz_socket import FuzzSocket  # noqa: E402
from hostile_cards import CARD_STRATEGIES, files_outside, import_card  # noqa: E402
from hostile_events import REALTIME_STRATEGIES  # noqa: E402
from hostile_tool_args import HOSTILE_TOOLS, check_result, tool_arguments  # noqa: E402
from realtime_fake_server import spawn  # noqa: E402


def _settings(n: int):
    return settings(max_examples=n, database=None, deadline=None, phases=[Phase.generate],
                    suppress_health_check=list(HealthCheck))


class Tally:
    def __init__(self) -> None:
        self.rows: list[tuple[str, int, collections.Counter, int, float]] = []
        self.examples: list[str] = []

    def run(self, name: str, n: int, strategy, one) -> None:
        outcomes: collections.Counter = collections.Counter()
        crashes = [0]

        @_settings(n)
        @given(strategy)
        def case(value):
            kind, crashed, shown = one(value)
            outcomes[kind] += 1
            if crashed:
                crashes[0] += 1
                if len(self.examples) < 20:
                    self.examples.append(f"{name}: {kind}: {shown}")

        started = time.perf_counter()
        case()
        self.rows.append((name, sum(outcomes.values()), outcomes, crashes[0],
                          time.perf_counter() - started))


def _server_rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


def fuzz_realtime(tally: Tally, per_kind: int) -> tuple[int, str]:
    server, port = spawn("--vad", "energy")
    try:
        url = f"ws://127.0.0.1:{port}/v1/realtime"
        with FuzzSocket(url) as sock:
            def one(case):
                outcome = sock.run(case)
                refused = case.must_error and outcome.closed is None and \
                    len(outcome.errors) < len(case.messages)
                kind = "silently_accepted" if refused else outcome.kind
                return kind, outcome.crashed or outcome.closed is not None or refused, \
                    case.describe()[:200]

            for kind, strategy in REALTIME_STRATEGIES.items():
                tally.run(kind, per_kind, strategy, one)
            sock.normal_turn()
            with FuzzSocket(url) as other:
                other.normal_turn()
            turns = "same socket and a second one each completed a typed turn"
        if server.poll() is not None:
            raise RuntimeError("the server process died")
        return _server_rss_kib(server.pid), turns
    finally:
        server.terminate()
        server.wait(10)


def fuzz_cards(tally: Tally, n: int) -> None:
    def one(card):
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp)
            try:
                kind = import_card(card.blob, root / "personas")
                crashed = False
            except Exception as exc:  # noqa: BLE001 - an unnamed exception is the finding
                kind, crashed = f"unexpected:{type(exc).__name__}", True
            if files_outside(root, root / "personas"):
                kind, crashed = "wrote_outside_folder", True
        return kind, crashed, repr(card.blob[:120])

    for kind, strategy in CARD_STRATEGIES.items():
        tally.run(kind, n, strategy, one)


def fuzz_tool_arguments(tally: Tally, n: int) -> None:
    def one(pair):
        tool_, arguments = pair
        try:
            result = check_result(asyncio.run(tool_.invoke(arguments)), tool_)
            return ("error_result" if result.is_error else "ran"), False, ""
        except BaseException as exc:  # noqa: BLE001
            return f"unexpected:{type(exc).__name__}", True, repr(arguments)[:200]

    tally.run("tool_arguments", n, st.tuples(st.sampled_from(HOSTILE_TOOLS), tool_arguments), one)


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--per-kind", type=int, default=500, help="cases per realtime kind (14 kinds)")
    p.add_argument("--cards", type=int, default=700, help="cases per card format (3)")
    p.add_argument("--tool-args", type=int, default=1000)
    args = p.parse_args()
    tally = Tally()
    server_rss, turns = fuzz_realtime(tally, args.per_kind)
    fuzz_cards(tally, args.cards)
    fuzz_tool_arguments(tally, args.tool_args)
    own_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

    print("| target | cases | outcomes (most common first) | crashes | s |")
    print("|---|---:|---|---:|---:|")
    for name, cases, outcomes, crashes, seconds in tally.rows:
        shown = ", ".join(f"{k} {v}" for k, v in outcomes.most_common(5))
        more = f", +{len(outcomes) - 5} more" if len(outcomes) > 5 else ""
        print(f"| {name} | {cases:,} | {shown}{more} | {crashes} | {seconds:.0f} |")
    total = sum(r[1] for r in tally.rows)
    crashes = sum(r[3] for r in tally.rows)
    errors = collections.Counter()
    for _, _, outcomes, _, _ in tally.rows:
        for k, v in outcomes.items():
            if k not in ("accepted", "imported", "ran"):
                errors[k.removeprefix("error:")] += v
    print(f"\ncases {total:,}; crashes {crashes}; {turns}")
    print(f"max RSS: server {server_rss / 1024:.0f} MiB, fuzzing process (cards, tools) "
          f"{own_rss / 1024:.0f} MiB")
    print("errors by kind: " + ", ".join(f"{k} {v:,}" for k, v in errors.most_common()))
    for line in tally.examples:
        print("CRASH", line)
    sys.exit(1 if crashes else 0)


if __name__ == "__main__":
    main()
