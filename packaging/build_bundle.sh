#!/usr/bin/env bash
# Build the standalone folder bundle dist/zssbir/ with PyInstaller, then prove that it works with
# an empty environment (no virtualenv, no PYTHONPATH): the bundled `zssbir-cli doctor`, an index
# and a search with the default model, then the app under Xvfb until its window shows and the
# model has loaded, with a screenshot.
#
#   packaging/build_bundle.sh                  # build the CPU bundle (no torch), then launch test
#   packaging/build_bundle.sh --no-build       # launch test of an existing dist/zssbir
#   packaging/build_bundle.sh --no-launch      # build only
#   packaging/build_bundle.sh --with-training  # bundle the training extra too (torch: gigabytes)
#
# The default bundle is made from the slim install: a build virtualenv, build/bundle-venv, made
# from $PYTHON (default python3) with `pip install ".[hnsw,bundle]"` (ONNX Runtime runs the models;
# hnswlib compiles: a C++ compiler is needed); the build stops if torch is importable there. It
# searches and indexes with every shipped model but does not train: fine-tuning needs
# `pip install "zssbir[train]"` (the app says so). --with-training instead bundles the environment
# of $PYTHON as it is, which must have the train extra installed (on Linux, PyPI's torch brings
# CUDA: about 4.3 GB). The launch test needs xvfb-run and xwininfo (Debian: xvfb x11-utils) and
# takes the screenshot with ImageMagick's `import` when present.
# Writes build/bundle/stats.txt (build time, size), build/bundle/launch.log and
# build/bundle/launch.png.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
PYTHON="${PYTHON:-python3}"
WORK=build/bundle
DIST=dist/zssbir
LAUNCH_TIMEOUT_S="${LAUNCH_TIMEOUT_S:-300}"

build=1
launch=1
training=0
for arg in "$@"; do
    case "$arg" in
        --no-build) build=0 ;;
        --no-launch) launch=0 ;;
        --with-training) training=1 ;;
        *) echo "build_bundle.sh: unknown argument: $arg" >&2; exit 2 ;;
    esac
done
export ZSSBIR_BUNDLE_TRAINING="$training"

if [ "$build" = 1 ] && [ "$training" = 0 ]; then
    venv=build/bundle-venv
    [ -x "$venv/bin/python" ] || "$PYTHON" -m venv "$venv"
    # setuptools new enough to build the wheel below without build isolation (bdist_wheel since 70.1)
    "$venv/bin/python" -m pip install --quiet ".[hnsw,bundle]" "setuptools>=70.1"
    if "$venv/bin/python" -c "import torch" 2>/dev/null; then
        echo "build_bundle.sh: torch is installed in $venv; the CPU bundle must not carry it" >&2
        exit 1
    fi
    PYTHON="$PWD/$venv/bin/python"
fi

if [ "$build" = 1 ]; then
    if ! "$PYTHON" -c "import PyInstaller" 2>/dev/null; then
        "$PYTHON" -m pip install --quiet "pyinstaller>=6.10"
    fi
    rm -rf "$WORK" "$DIST"
    mkdir -p "$WORK"
    started=$(date +%s)

    # The bundle is made from the wheel, unpacked: exactly the files a pip install ships.
    "$PYTHON" -m pip wheel --quiet --no-deps --no-build-isolation --wheel-dir "$WORK/wheel" .
    "$PYTHON" -c 'import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2])' \
        "$(ls "$WORK"/wheel/zssbir-*.whl)" "$WORK/site"
    # Run from inside $WORK: from the repository root, Python would put the checkout's packages
    # (and zssbir.egg-info) ahead of the unpacked wheel.
    root="$PWD"
    (cd "$WORK" && PYTHONPATH="$PWD/site" "$PYTHON" -m PyInstaller --noconfirm --clean --log-level WARN \
        --distpath "$root/dist" --workpath "$PWD/pyinstaller" "$root/packaging/pyinstaller/zssbir.spec")

    # zssbir-cli: the same program, run as the command line.
    cat > "$DIST/zssbir-cli" <<'EOF'
#!/bin/sh
exec "$(dirname "$(readlink -f "$0")")/zssbir" -m zssbir_core "$@"
EOF
    chmod 755 "$DIST/zssbir-cli"
    # Menu entry for the bundle: linux/install-desktop-entry.sh finds ../zssbir and the icons.
    mkdir -p "$DIST/linux"
    cp packaging/linux/io.github.zssbir.zssbir.desktop packaging/linux/io.github.zssbir.zssbir.metainfo.xml \
        packaging/linux/install-desktop-entry.sh "$DIST/linux/"

    finished=$(date +%s)
    {
        echo "build_seconds=$((finished - started))"
        echo "bundle_bytes=$(du -sb "$DIST" | cut -f1)"
        echo "bundle_size=$(du -sh "$DIST" | cut -f1)"
        echo "bundle_files=$(find "$DIST" -type f | wc -l)"
        echo "archive_note=not compressed; tar.zst or AppImage packing is a separate step"
        echo "python=$("$PYTHON" -c 'import sys; print(sys.version.split()[0])')"
        echo "pyinstaller=$("$PYTHON" -m PyInstaller --version)"
        echo "onnxruntime=$("$PYTHON" -c 'import onnxruntime; print(onnxruntime.__version__)')"
        echo "torch=$("$PYTHON" -c 'import torch; print(torch.__version__, "CUDA", torch.version.cuda)' 2>/dev/null || echo none)"
        echo "machine=$(uname -m), $(nproc) cores"
    } > "$WORK/stats.txt"
    cat "$WORK/stats.txt"
fi

[ "$launch" = 1 ] || exit 0
for tool in xvfb-run xwininfo; do
    command -v "$tool" >/dev/null || { echo "build_bundle.sh: $tool is needed for the launch test" >&2; exit 1; }
done
[ -x "$DIST/zssbir" ] || { echo "build_bundle.sh: no bundle at $DIST" >&2; exit 1; }

home="$(mktemp -d)"
log="$PWD/$WORK/launch.log"
shot="$PWD/$WORK/launch.png"
mkdir -p "$WORK"
: > "$log"
# Nothing from this machine's Python: an empty environment apart from a home, a data folder, a
# locale and the X display that xvfb-run provides.
export home log shot LAUNCH_TIMEOUT_S
export BUNDLE="$PWD/$DIST"

frozen_cli() {
    env -i "HOME=$home" PATH=/usr/bin:/bin "ZSSBIR_DATA_DIR=$home/data" LANG=C.UTF-8 QT_QPA_PLATFORM=offscreen \
        "$BUNDLE/zssbir-cli" "$@" >> "$log" 2>&1
}
status=0
echo "== zssbir-cli doctor (frozen, no display)" >> "$log"
env -i "HOME=$home" PATH=/usr/bin:/bin "ZSSBIR_DATA_DIR=$home/data" LANG=C.UTF-8 \
    "$BUNDLE/zssbir-cli" doctor >> "$log" 2>&1 || true  # a problem it finds is in the log, not fatal here
# The engine end to end: index three pictures (the app's own icons) with the default model, search.
mkdir -p "$home/photos"
cp "$BUNDLE"/_internal/zssbir_desktop/resources/app-{128,256,512}.png "$home/photos/"
echo "== zssbir-cli index + search (frozen)" >> "$log"
frozen_cli index --add "$home/photos" --progress none \
    && frozen_cli search --sketch "$home/photos/app-128.png" --k 3 \
    || { echo "ENGINE CHECK FAILED" >> "$log"; status=1; }

echo "== zssbir under Xvfb" >> "$log"
xvfb-run -a -s "-screen 0 1280x860x24" bash -c '
    started=$(date +%s.%N)
    env -i "HOME=$home" PATH=/usr/bin:/bin "ZSSBIR_DATA_DIR=$home/data" LANG=C.UTF-8 \
        "DISPLAY=$DISPLAY" "XAUTHORITY=${XAUTHORITY:-}" "$BUNDLE/zssbir" >> "$log" 2>&1 &
    app=$!
    window=""
    for _ in $(seq "$LAUNCH_TIMEOUT_S"); do
        # A named top-level window at least 300x200 (Qt also maps a 1x1 helper window).
        window="$(xwininfo -root -tree 2>/dev/null \
            | grep -iE "\"[^\"]*zssbir[^\"]*\": \(.*\) +[0-9]{3,}x[0-9]{3,}" | head -1 || true)"
        [ -n "$window" ] && break
        kill -0 "$app" 2>/dev/null || break
        sleep 1
    done
    if [ -z "$window" ]; then
        echo "LAUNCH FAILED: no zssbir window within ${LAUNCH_TIMEOUT_S} s" >> "$log"
        kill "$app" 2>/dev/null || true
        exit 1
    fi
    shown=$(date +%s.%N)
    echo "window appeared after $(awk "BEGIN { printf \"%.1f\", $shown - $started }") s:$window" >> "$log"
    ready=""
    for _ in $(seq "$LAUNCH_TIMEOUT_S"); do
        ready="$(grep -h " ready on " "$home"/data/logs/*.log 2>/dev/null | head -1 || true)"
        [ -n "$ready" ] && break
        sleep 1
    done
    loaded=$(date +%s.%N)
    if [ -z "$ready" ]; then
        echo "LAUNCH FAILED: the model did not load within ${LAUNCH_TIMEOUT_S} s" >> "$log"
    else
        echo "model loaded after $(awk "BEGIN { printf \"%.1f\", $loaded - $started }") s: $ready" >> "$log"
    fi
    sleep 3
    if command -v import >/dev/null; then import -window root "$shot"; fi
    kill "$app" 2>/dev/null || true
    wait "$app" 2>/dev/null || true
    [ -n "$ready" ]
' || status=$?
rm -rf "$home"
tail -n 40 "$log"
exit "$status"
