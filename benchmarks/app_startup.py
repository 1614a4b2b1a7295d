"""Time from starting ``zssbir`` to its window being shown, and to its model being ready.

    python benchmarks/app_startup.py [--runs 7] [--platform xvfb|offscreen] [--models default] [--program dist/zssbir/zssbir]

Each run starts a fresh ``python -m zssbir_desktop --startup-probe ...`` process with fresh data
and settings directories; the app prints a line when the event loop runs with the window shown
(``window``), and in ``model`` runs also when the model has loaded in the background (each model
of ``--models`` in turn, run by run: ``default`` is a first start with nothing chosen, which loads
the packaged default model; ``lite0-imagenet`` is the previous offline model). Times are taken here, from just before the process
is spawned to each line: interpreter start, imports, QApplication, building and showing the
window; then torch, the network and its weights. Under Xvfb (``xvfb-run`` installed) the real X11
platform plugin is used; otherwise Qt's offscreen one.
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
XVFB = ["xvfb-run", "-a", "-s", "-screen 0 1400x900x24"]


def one_run(command: list[str], env: dict[str, str], events: tuple[str, ...]) -> dict[str, float]:
    """Seconds from spawning the app to each of ``events`` (the first word of a probe line)."""
    start = time.perf_counter()
    process = subprocess.Popen(
        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, cwd=REPO
    )
    assert process.stdout is not None
    seen: dict[str, float] = {}
    for line in process.stdout:
        word = line.split(" ", 1)[0]
        if word == "model-failed":
            raise RuntimeError(f"the model did not load: {line.strip()}")
        if word in events:
            seen[word] = time.perf_counter() - start
        if len(seen) == len(events):
            break
    process.wait(timeout=120)
    if len(seen) != len(events):
        raise RuntimeError(f"the app exited with {process.returncode} before {set(events) - set(seen)}")
    return seen


def fresh_environment(work: Path, platform_name: str, model: str = "default") -> dict[str, str]:
    """Empty data dir; settings that pick ``model`` (``default``: nothing chosen, as on a first start)."""
    shutil.rmtree(work, ignore_errors=True)
    config = work / "config" / "zssbir"
    config.mkdir(parents=True)
    chosen = "" if model == "default" else f"model={model}\n"
    (config / "zssbir.conf").write_text(f"[preferences]\n{chosen}rescan_on_start=false\n")
    env = dict(os.environ, ZSSBIR_DATA_DIR=str(work / "data"), XDG_CONFIG_HOME=str(work / "config"))
    if platform_name == "offscreen":
        env["QT_QPA_PLATFORM"] = "offscreen"
    return env


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
    return (
        f"{os.cpu_count()}-core {platform.machine()} ({cpu}), {platform.system()}, "
        f"Python {platform.python_version()}"
    )


def summary(name: str, times: list[float]) -> str:
    return (
        f"median **{statistics.median(times):.2f} s** {name} over {len(times)} runs "
        f"(min {min(times):.2f} s, max {max(times):.2f} s; runs: {', '.join(f'{t:.2f}' for t in times)})"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="zssbir: time to a visible window and to a loaded model")
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
    parser.add_argument("--program", default="",
                        help="the app to start (e.g. dist/zssbir/zssbir, the bundle); default: this Python's zssbir_desktop")
    parser.add_argument("--models", default="lite0-imagenet,default",
                        help="models to time to 'ready', alternating run by run (default: lite0-imagenet,default)")
    args = parser.parse_args(argv)

    load_before = os.getloadavg()[0]
    work = Path(tempfile.mkdtemp(prefix="zssbir-startup-"))
    prefix = XVFB if args.platform == "xvfb" else []
    program = [str(Path(args.program).resolve())] if args.program else [sys.executable, "-m", "zssbir_desktop"]
    window_command = [*prefix, *program, "--startup-probe", "window"]
    model_command = [*prefix, *program, "--startup-probe", "model"]

    one_run(window_command, fresh_environment(work, args.platform), ("window-shown",))  # warm-up
    window_times = [
        one_run(window_command, fresh_environment(work, args.platform), ("window-shown",))["window-shown"]
        for _ in range(args.runs)
    ]
    models = args.models.split(",")
    ready: dict[str, list[float]] = {model: [] for model in models}
    for _ in range(args.runs):
        for model in models:
            run = one_run(model_command, fresh_environment(work, args.platform, model), ("window-shown", "model-ready"))
            ready[model].append(run["model-ready"])
    shutil.rmtree(work, ignore_errors=True)

    xvfb_note = ""
    if args.platform == "xvfb":
        overhead = []
        for _ in range(args.runs):
            start = time.perf_counter()
            subprocess.run([*XVFB, "true"], check=True)
            overhead.append(time.perf_counter() - start)
        xvfb_note = (f"; both include starting Xvfb itself (`xvfb-run true`: {statistics.median(overhead):.2f} s, "
                     "median)")
    lines = [
        f"- {summary('to a shown window', window_times)}",
        *(f"- {summary(f'to the model `{model}` loaded in the background, ready to search', times)}"
          for model, times in ready.items()),
        f"- platform `{args.platform}`{xvfb_note}",
        f"- machine: {machine()}{', ' + args.note if args.note else ''}; 1-minute load average "
        f"{load_before:.1f} before the runs and {os.getloadavg()[0]:.1f} after",
        f"- command: `python benchmarks/app_startup.py --runs {args.runs} --platform {args.platform} "
        f"--models {args.models}{' --program ' + args.program if args.program else ''}`",
    ]
    print("\n".join(lines))
    if args.write:
        args.write.parent.mkdir(parents=True, exist_ok=True)
        with args.write.open("a", encoding="utf-8") as out:
            out.write(
                f"\n### {time.strftime('%Y-%m-%d %H:%M')} UTC, {args.platform}\n\n" + "\n".join(lines) + "\n"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
