"""Time from starting ``zssbir`` to its window being shown (the model loads after that).

    python benchmarks/app_startup.py [--runs 7] [--platform xvfb|offscreen] [--write docs/benchmarks/app.md]

Each run starts a fresh ``python -m zssbir_desktop --startup-probe`` process (fresh settings and
data directories), which shows the main window and prints a line as soon as the event loop runs
with the window shown; the time is taken here, from just before the process is spawned to that
line (interpreter start, imports, QApplication, window construction, first show). Under Xvfb
(``xvfb-run`` installed) the real X11 platform plugin is used; otherwise Qt's offscreen one.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def one_run(command: list[str], env: dict[str, str]) -> float:
    """Seconds from spawning the app to its "window-shown" line."""
    start = time.perf_counter()
    process = subprocess.Popen(
        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, cwd=REPO
    )
    assert process.stdout is not None
    for line in process.stdout:
        if line.startswith("window-shown"):
            elapsed = time.perf_counter() - start
            break
    else:
        raise RuntimeError(f"the app exited with {process.wait()} before showing its window")
    process.wait(timeout=60)
    return elapsed


def machine() -> str:
    """A short description of this machine."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{os.cpu_count()}-core {platform.machine()} ({cpu}), {platform.system()}, Python {platform.python_version()}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="zssbir: time to a visible window")
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument(
        "--platform",
        choices=("xvfb", "offscreen"),
        default="xvfb" if shutil.which("xvfb-run") else "offscreen",
    )
    parser.add_argument("--write", type=Path, help="append the result as a Markdown section to this file")
    parser.add_argument(
        "--note", default="", help="extra words about the machine (e.g. shared with other jobs)"
    )
    args = parser.parse_args(argv)

    work = Path(tempfile.mkdtemp(prefix="zssbir-startup-"))
    env = dict(os.environ, ZSSBIR_DATA_DIR=str(work / "data"), XDG_CONFIG_HOME=str(work / "config"))
    app = [sys.executable, "-m", "zssbir_desktop", "--startup-probe"]
    if args.platform == "xvfb":
        command = ["xvfb-run", "-a", "-s", "-screen 0 1400x900x24", *app]
    else:
        env["QT_QPA_PLATFORM"] = "offscreen"
        command = app
    one_run(command, env)  # warm the OS file cache once; not counted
    times = [one_run(command, env) for _ in range(args.runs)]
    shutil.rmtree(work, ignore_errors=True)

    median = statistics.median(times)
    xvfb_note = ""
    if args.platform == "xvfb":
        overhead = []
        for _ in range(args.runs):
            start = time.perf_counter()
            subprocess.run(["xvfb-run", "-a", "-s", "-screen 0 1400x900x24", "true"], check=True)
            overhead.append(time.perf_counter() - start)
        xvfb_note = f" (includes starting Xvfb itself: `xvfb-run true` takes {statistics.median(overhead):.2f} s, median)"
    lines = [
        f"- median **{median:.2f} s** to a shown window over {args.runs} runs "
        f"(min {min(times):.2f} s, max {max(times):.2f} s), platform `{args.platform}`{xvfb_note}",
        f"- machine: {machine()}{', ' + args.note if args.note else ''}",
        f"- command: `python benchmarks/app_startup.py --runs {args.runs} --platform {args.platform}`",
        f"- runs (s): {', '.join(f'{t:.2f}' for t in times)}",
    ]
    print("\n".join(lines))
    if args.write:
        args.write.parent.mkdir(parents=True, exist_ok=True)
        with args.write.open("a", encoding="utf-8") as out:
            out.write(f"\n### {time.strftime('%Y-%m-%d')}, {args.platform}\n\n" + "\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
