"""Screenshot a mining report in headless Chromium, fully offline, to check what a reviewer sees.

Usage:
    python benchmarks/screenshot_report.py WORKSPACE/mining/report.html [--out report.png]
        [--width 1400] [--height 2000]

Needs the Debian package `chromium` (apt-get install -y chromium). Every network-ish feature
is switched off (--disable-background-networking, no component updates, no sync), so a report
that still renders its charts proves it is self-contained. The PNG lands next to the report
unless --out says otherwise. A throwaway profile directory keeps runs independent.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

CHROMIUM_CANDIDATES = ("chromium", "chromium-browser", "google-chrome")
VIRTUAL_TIME_MS = 8000  # let plotly draw before the shot


def find_chromium() -> str:
    for name in CHROMIUM_CANDIDATES:
        path = shutil.which(name)
        if path:
            return path
    raise SystemExit("no Chromium found: apt-get update && apt-get install -y chromium")


def screenshot(report: Path, out: Path, width: int = 1400, height: int = 2000, timeout: float = 180.0) -> Path:
    """Render `report` to `out` (PNG) and return `out`; raises when Chromium fails."""
    report, out = report.resolve(), out.resolve()
    if not report.is_file():
        raise FileNotFoundError(f"no report at {report}")
    with tempfile.TemporaryDirectory(prefix="gm-chromium-") as profile:
        command = [
            find_chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--no-first-run", "--hide-scrollbars",
            f"--user-data-dir={profile}", f"--screenshot={out}", f"--window-size={width},{height}",
            f"--virtual-time-budget={VIRTUAL_TIME_MS}", report.as_uri(),
        ]
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)
    if done.returncode != 0 or not out.is_file():
        raise RuntimeError(f"chromium exited {done.returncode}: {done.stderr[-2000:]}")
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("report", type=Path)
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--width", type=int, default=1400)
    parser.add_argument("--height", type=int, default=2000)
    args = parser.parse_args(argv)
    out = args.out or args.report.with_suffix(".png")
    print(screenshot(args.report, out, args.width, args.height))
    return 0


if __name__ == "__main__":
    sys.exit(main())
