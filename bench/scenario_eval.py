"""Whole simulated calls to the SkyWay desk (or any scenario folder): pass^1 and pass^k per
profile, policy violations, turns, tool errors and turn latency, with a per-tag breakdown.

Runs `agent.evals.ScenarioRunner`, the runner behind `stepvox eval scenarios`, `--trials`
times per scenario for each profile, writes one JSON line per trial to
bench/data/scenario_eval/<profile>-<caller>.jsonl (the traces, for reading failures), and
prints the markdown table that bench/README.md "Customer-service scenarios" carries.
pass^1 is estimated from all trials; pass^k only when k <= trials. Asserts nothing.

    nice -n 10 .venv/bin/python bench/scenario_eval.py [--profiles default quality] \
        [--trials 4] [--caller scripted|llm] [--only PATTERN] [--scenarios PATH] \
        [--order interleaved] [--realtime [--barge-in]] [--judge-profile quality]
    .venv/bin/python bench/scenario_eval.py --report bench/data/scenario_eval/*.jsonl [--rescore]
    nice -n 10 .venv/bin/python bench/scenario_eval.py --judge-stored FILE.jsonl --judge-profile quality
    nice -n 10 .venv/bin/python bench/scenario_eval.py --judge-agreement --judge-profile quality

`--order interleaved` takes the scenarios file by file in turn (one cancellation, one bag,
one status question, ...), so a run stopped early is a spread sample of the set, not its
first topic. `--realtime` holds the calls through the /v1/realtime server (`--barge-in`:
the caller talks over every reply). The LLM judge (`--judge-profile`) scores the replies
during a run, or later on stored traces (`--judge-stored`, written next to them as
`*-judged-<profile>.jsonl`); `--judge-agreement` measures it against the hand-labelled calls
in bench/data/scenario_eval/judge_labels.yaml.

`--rescore` re-checks the policy rules on the stored traces with the rules as they are now
(the database, call and reply checks are kept as stored): how a fixed false alarm in a rule
is corrected without rerunning hours of calls. The stored traces are the evidence either way.
"""

from __future__ import annotations

import argparse
import asyncio
import fnmatch
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from agent.evals import load_scenarios, pass_hat_k  # noqa: E402
from agent.evals.report import JudgeTally, read_jsonl, summarise, write_jsonl  # noqa: E402
from agent.evals.runner import TrialResult  # noqa: E402
from bench.machine import print_machine  # noqa: E402
from bench.scenario_judge import judge_agreement, judge_stored  # noqa: E402

DEFAULT_SCENARIOS = ROOT / "examples" / "skyway_scenarios"
OUT = ROOT / "bench" / "data" / "scenario_eval"


def markdown(label: str, results: list[TrialResult], k_values: list[int]) -> list[str]:
    rows, run = summarise(results)
    trials = min(s.trials for s in rows)
    path = "realtime" if results[0].realtime else "voice" if results[0].voice else "text"
    cells = [label, f"{results[0].caller}, {path}", str(run.scenarios), str(trials)]
    for k in k_values:
        cell = (f"{100 * statistics.fmean(pass_hat_k(s.successes, s.trials, k) for s in rows):.1f} %"
                if k <= trials else "not run")
        if k == 1 and trials == 1:
            cell += f" ({sum(s.successes for s in rows)}/{len(rows)})"
        cells.append(cell)
    cells += [str(run.violations), str(run.approval_write_violations),
              str(sum(s.tool_errors for s in rows)),
              f"{statistics.fmean(s.mean_turns for s in rows):.1f}",
              "" if run.mean_turn_latency_ms is None else f"{run.mean_turn_latency_ms / 1000:.1f} s",
              judge_cell(run.judge)]
    return ["| " + " | ".join(cells) + " |"]


def judge_cell(tally: JudgeTally | None) -> str:
    if tally is None:
        return "not run"
    n = tally.judged
    return (f"{100 * tally.polite / n:.0f} / {100 * tally.no_invented_facts / n:.0f} / "
            f"{100 * tally.answered / n:.0f} % of {n}")


def by_tag(results: list[TrialResult]) -> list[str]:
    tags = sorted({t for r in results for t in r.tags})
    lines = ["| tag | scenarios | pass^1 |", "|---|---|---|"]
    for tag in tags:
        mine = [r for r in results if tag in r.tags]
        names = {r.scenario for r in mine}
        lines.append(f"| {tag} | {len(names)} | {100 * sum(r.success for r in mine) / len(mine):.0f} % |")
    return lines


def header(k_values: list[int]) -> list[str]:
    cols = ["profile", "caller", "scenarios", "trials", *(f"pass^{k}" for k in k_values),
            "policy violations", "of which approval/identity on writes", "tool errors",
            "turns (mean)", "turn latency (mean)",
            "LLM judge: polite / no invented facts / answered (not part of success)"]
    return ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]


def rescored(results: list[TrialResult], scenarios_path: Path) -> list[TrialResult]:
    from datetime import datetime, timezone

    from agent.evals.database import open_database
    from agent.evals.policy import check_policy

    by_name = {s.name: s for s in load_scenarios(scenarios_path)}
    out = []
    for r in results:
        scenario = by_name[r.scenario]
        start = open_database(scenario.database, datetime.now(timezone.utc)).snapshot()
        violations = check_policy(r.trace, scenario, start)
        score = r.score.model_copy(update={"violations": violations})
        others = (score.database_diffs or score.missing_calls or score.forbidden_calls_made
                  or score.unsaid or score.wrongly_said)
        score.success = r.trace.error is None and not others and not violations
        out.append(r.model_copy(update={"score": score}))
    return out


def merged(files: list[Path]) -> list[TrialResult]:
    """The trials of several files as one run; a (scenario, trial) run twice (two processes
    that met in the middle of a list) counts once, from the first file."""
    seen, out = set(), []
    for file in files:
        for r in read_jsonl(file):
            if (r.scenario, r.trial) not in seen:
                seen.add((r.scenario, r.trial))
                out.append(r)
    return out


def report(files: list[Path], k_values: list[int], rescore_from: Path | None = None,
           merge: bool = False) -> None:
    lines = header(k_values)
    loaded = {}
    for file in ([files[0]] if merge else files):
        results = merged(files) if merge else read_jsonl(file)
        if results and rescore_from is not None:
            results = rescored(results, rescore_from)
        loaded[file] = results
        if results:
            lines += markdown(results[0].backend, results, k_values)
    print("\n".join(lines))
    for file, results in loaded.items():
        if results:
            print(f"\n{results[0].backend}, {results[0].caller} caller, by tag:\n")
            print("\n".join(by_tag(results)))
            failed = sorted({r.scenario for r in results if not r.success})
            print(f"\nfailed at least once ({len(failed)}): {', '.join(failed)}")


def interleaved(scenarios: list) -> list:
    """One scenario of each file in turn, so any prefix of the run spreads over the topics."""
    by_file: dict = {}
    for s in scenarios:
        by_file.setdefault(s.source, []).append(s)
    queues = list(by_file.values())
    out = []
    while any(queues):
        for queue in queues:
            if queue:
                out.append(queue.pop(0))
    return out


def code_version() -> str:
    import subprocess

    head = subprocess.run(["git", "-C", str(ROOT), "log", "-1", "--format=%h %cI"],
                          capture_output=True, text=True).stdout.strip()
    dirty = subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain", "--", "agent",
                            "examples", "personas", "tools"],
                           capture_output=True, text=True).stdout.strip()
    return head + (" (with uncommitted changes under agent/examples/personas/tools)" if dirty else "")


async def run(args: argparse.Namespace) -> list[Path]:
    from agent.evals.backends import load_backend, load_judge
    from agent.evals.runner import RealtimeOptions, ScenarioRunner
    from agent.settings import StepvoxSettings

    scenarios = load_scenarios(args.scenarios)
    if args.only:
        patterns = args.only.split(",")
        scenarios = [s for s in scenarios if any(fnmatch.fnmatch(s.name, p)
                                                 or any(fnmatch.fnmatch(t, p) for t in s.tags)
                                                 for p in patterns)]
    if args.order == "interleaved":
        scenarios = interleaved(scenarios)
    if args.reverse:
        scenarios = scenarios[::-1]
    if args.limit:
        scenarios = scenarios[:args.limit]
    OUT.mkdir(parents=True, exist_ok=True)
    print(f"code: {code_version()}", flush=True)
    realtime = RealtimeOptions(barge_in_all=args.barge_in) if args.realtime else None
    judge = load_judge(StepvoxSettings(profile=args.judge_profile)) if args.judge_profile else None
    written = []
    for profile in args.profiles:
        settings = StepvoxSettings(profile=profile)
        backend = load_backend(settings, voice=args.realtime)
        runner = ScenarioRunner(backend, caller=args.caller, realtime=realtime, judge=judge)
        mode = "-realtime" + ("-barge" if args.barge_in else "") if args.realtime else ""
        path = OUT / f"{profile}-{args.caller}{mode}{args.out_suffix}.jsonl"
        started = time.perf_counter()
        with path.open("w", encoding="utf-8") as out:
            def progress(result: TrialResult) -> None:
                write_jsonl(result, out)
                print(f"{profile} trial {result.trial + 1} {result.scenario}: "
                      f"{'ok' if result.success else 'FAILED ' + '; '.join(result.score.reasons())[:200]}"
                      f" ({result.wall_s:.0f} s)", flush=True)

            await runner.run(scenarios, trials=args.trials, on_result=progress)
        print(f"{profile}: {len(scenarios)} scenarios x {args.trials} in "
              f"{time.perf_counter() - started:.0f} s -> {path}", flush=True)
        written.append(path)
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scenarios", type=Path, default=DEFAULT_SCENARIOS)
    parser.add_argument("--profiles", nargs="+", default=["default", "quality"])
    parser.add_argument("--trials", type=int, default=4)
    parser.add_argument("--caller", choices=["scripted", "llm"], default="scripted")
    parser.add_argument("--only", help="scenario name or tag patterns (fnmatch), comma-separated")
    parser.add_argument("--out-suffix", default="", help="appended to the JSONL file name")
    parser.add_argument("--order", choices=["files", "interleaved"], default="files")
    parser.add_argument("--limit", type=int, help="only the first N scenarios (after --order)")
    parser.add_argument("--reverse", action="store_true",
                        help="run the list from its end: a second process meets the first in "
                             "the middle (two shares of a busy CPU; merge with --report)")
    parser.add_argument("--realtime", action="store_true", help="calls through /v1/realtime")
    parser.add_argument("--barge-in", action="store_true", help="with --realtime: talk over every reply")
    parser.add_argument("--judge-profile", help="the LLM judge's profile (default: no judge)")
    parser.add_argument("--judge-stored", nargs="+", type=Path,
                        help="judge the calls of these JSONL files (needs --judge-profile)")
    parser.add_argument("--judge-agreement", action="store_true",
                        help="the judge against the hand-labelled calls (needs --judge-profile)")
    parser.add_argument("--report", nargs="+", type=Path, help="only print the tables of these JSONL files")
    parser.add_argument("--merge", action="store_true",
                        help="with --report: the files are one run (e.g. two --reverse halves)")
    parser.add_argument("--rescore", action="store_true",
                        help="with --report: re-check the policy rules on the stored traces")
    args = parser.parse_args()
    k_values = [1, 4]
    print_machine()
    if args.judge_stored or args.judge_agreement:
        if not args.judge_profile:
            parser.error("--judge-stored and --judge-agreement need --judge-profile")
        if args.judge_agreement:
            asyncio.run(judge_agreement(args.judge_profile))
        if args.judge_stored:
            files = asyncio.run(judge_stored(args.judge_stored, args.judge_profile, args.scenarios))
            report(files, k_values)
        return
    if args.report:
        report(args.report, k_values, args.scenarios if args.rescore else None, args.merge)
        return
    files = asyncio.run(run(args))
    report(files, k_values)


if __name__ == "__main__":
    main()
