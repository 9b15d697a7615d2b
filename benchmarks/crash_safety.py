"""`kill -9` at any moment loses nothing and does nothing twice: the test suite's crash test,
with many more kills than CI gives it.

Runs `test_killed_at_any_moment_again_and_again_nothing_is_lost_or_doubled`: a 50-file pass (5
stores x 10 days) is first killed exactly where an upload is about to leave the inbox, its day
already written, then killed at random moments (alternately the command alone and every process
at once, as a power cut), then run by cron-like passes until one ends cleanly; every original,
Parquet file, table item and report must then be exactly as one clean pass leaves them, and no
process may be left running after any kill. Prints the test's result and how long it took.

    python benchmarks/crash_safety.py [--kills 25]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--kills", type=int, default=25)
    args = parser.parse_args()
    started = time.monotonic()
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:logging",
            "-rA",
            "sales_platform_tests/test_process_passes.py::test_killed_at_any_moment_again_and_again_nothing_is_lost_or_doubled",
        ],
        cwd=ROOT,
        env={**os.environ, "SALES_PLATFORM_TEST_KILLS": str(args.kills)},
        capture_output=True,
        text=True,
    )
    elapsed = time.monotonic() - started
    summary = [
        line for line in result.stdout.splitlines() if " passed" in line or " failed" in line or line.startswith("E ")
    ]
    print("\n".join(summary[-15:]))
    verdict = "nothing lost, nothing doubled, nothing left running" if result.returncode == 0 else "FAILED (see above)"
    print(
        f"1 kill at the archive step + {args.kills} random kills of a 50-file pass, then recovery: {verdict}; {elapsed:.0f} s"
    )
    raise SystemExit(result.returncode)


if __name__ == "__main__":
    main()
