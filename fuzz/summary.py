"""Summarises `make fuzz`'s logs (target/fuzz-logs/<target>.log) as the table in
docs/reliability.md: inputs tried, coverage at the start and the end, and how far into the
run coverage last grew (estimated from libFuzzer's execution counter and its average rate)."""

from __future__ import annotations

import re
import sys
from pathlib import Path

LOGS = Path(__file__).resolve().parents[1] / "target" / "fuzz-logs"
LINE = re.compile(r"^#(\d+)\s+(\w+)\s+cov: (\d+) ft: (\d+) corp: (\d+)/\S+(?: lim: \d+)? exec/s: (\d+)")


def main() -> None:
    print(
        "| target | last run (s) | inputs tried (last run) | coverage (edges) start → end | features | last new coverage | edges gained in the last 5 min | corpus after cmin |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for log in sorted(LOGS.glob("*.log")):
        if log.name.endswith(".cmin.log"):
            continue
        rows = [m.groups() for m in map(LINE.match, log.read_text(errors="replace").splitlines()) if m]
        if not rows:
            continue
        inited = next(r for r in rows if r[1] == "INITED")
        done = next((r for r in rows if r[1] == "DONE"), rows[-1])
        seconds = (
            int(re.search(r"max_total_time=(\d+)", log.read_text(errors="replace")).group(1))
            if "max_total_time" in log.read_text(errors="replace")
            else 0
        )
        runs, rate = int(done[0]), max(int(done[5]), 1)
        seconds = seconds or round(runs / rate)
        last_cov = max((int(r[0]) for r in rows if int(r[2]) == int(done[2])), default=runs)
        first_at_max = min(int(r[0]) for r in rows if int(r[2]) == int(done[2]))
        # Coverage five minutes before the end (or at the start of a shorter run).
        mark = runs - 300 * rate
        before = max((int(r[2]) for r in rows if int(r[0]) <= mark), default=int(inited[2]))
        corpus_dir = Path(__file__).resolve().parent / "corpus" / log.stem
        corpus = len(list(corpus_dir.iterdir())) if corpus_dir.exists() else 0
        print(
            f"| {log.stem} | {seconds} | {runs:,} | {inited[2]} → {done[2]} | {inited[3]} → {done[3]} | "
            f"~{first_at_max / rate:.0f} s | {int(done[2]) - before} | {corpus} |"
        )
        del last_cov


if __name__ == "__main__":
    sys.exit(main())
