#!/usr/bin/env bash
# Register zssbir with the desktop for the current user: application menu entry, icons and
# AppStream metadata under ~/.local/share (or $XDG_DATA_HOME). Nothing needs root.
#
#   packaging/linux/install-desktop-entry.sh             # menu entry for the `zssbir` on PATH
#   packaging/linux/install-desktop-entry.sh --exec /opt/zssbir/zssbir   # e.g. a bundle
#   packaging/linux/install-desktop-entry.sh --uninstall # remove everything it installed
#
# Works from a source checkout (icons in resources/) and from inside a bundle built by
# packaging/build_bundle.sh (this folder is copied there as linux/).
set -euo pipefail

APP_ID=io.github.zssbir.zssbir
SIZES=(16 24 32 48 64 128 256 512)
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

usage() {
    sed -n '2,10s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"
    exit "${1:-0}"
}

action=install
exec_path=""
while [ $# -gt 0 ]; do
    case "$1" in
        --uninstall) action=uninstall ;;
        --exec) [ $# -ge 2 ] || usage 2; exec_path="$2"; shift ;;
        -h|--help) usage 0 ;;
        *) echo "install-desktop-entry.sh: unknown argument: $1" >&2; usage 2 ;;
    esac
    shift
done

data_home="${XDG_DATA_HOME:-$HOME/.local/share}"
apps_dir="$data_home/applications"
icons_dir="$data_home/icons/hicolor"
metainfo_dir="$data_home/metainfo"

refresh_caches() {
    if command -v update-desktop-database >/dev/null 2>&1; then
        update-desktop-database -q "$apps_dir" 2>/dev/null || true
    fi
    if command -v gtk-update-icon-cache >/dev/null 2>&1 && [ -f "$icons_dir/index.theme" ]; then
        gtk-update-icon-cache -q -t -f "$icons_dir" 2>/dev/null || true
    fi
}

if [ "$action" = uninstall ]; then
    rm -f "$apps_dir/$APP_ID.desktop" "$metainfo_dir/$APP_ID.metainfo.xml" \
        "$icons_dir/scalable/apps/$APP_ID.svg"
    for size in "${SIZES[@]}"; do
        rm -f "$icons_dir/${size}x${size}/apps/$APP_ID.png"
    done
    refresh_caches
    echo "removed the zssbir menu entry, icons and metadata from $data_home"
    exit 0
fi

# The icons: a source checkout keeps them in resources/, a bundle inside its package folder.
icon_src=""
for candidate in "$here/../../resources" "$here/../_internal/zssbir_desktop/resources"; do
    if [ -f "$candidate/app.svg" ]; then icon_src="$(cd "$candidate" && pwd)"; break; fi
done
if [ -z "$icon_src" ]; then
    echo "install-desktop-entry.sh: cannot find the icons (resources/app.svg) next to $here" >&2
    exit 1
fi

# The program the menu entry starts: --exec, a bundle's own binary, or `zssbir` on PATH.
if [ -z "$exec_path" ] && [ -x "$here/../zssbir" ] && [ -f "$here/../zssbir" ]; then
    exec_path="$here/../zssbir"
fi
if [ -z "$exec_path" ]; then
    exec_path="$(command -v zssbir || true)"
fi
if [ -z "$exec_path" ]; then
    echo "install-desktop-entry.sh: no 'zssbir' program found on PATH; install zssbir first" \
         "(pip install .) or name the program with --exec PATH" >&2
    exit 1
fi
if [ ! -x "$exec_path" ] || [ -d "$exec_path" ]; then
    echo "install-desktop-entry.sh: $exec_path is not an executable program" >&2
    exit 1
fi
exec_path="$(cd "$(dirname "$exec_path")" && pwd)/$(basename "$exec_path")"
case "$exec_path" in
    *[\"\`\$\\\&\|]*) echo "install-desktop-entry.sh: unsupported characters in $exec_path" >&2; exit 1 ;;
esac

mkdir -p "$apps_dir" "$metainfo_dir" "$icons_dir/scalable/apps"
# Absolute Exec/TryExec: a desktop session's PATH rarely includes a virtual environment.
sed -e "s|^Exec=.*|Exec=\"$exec_path\"|" -e "s|^TryExec=.*|TryExec=$exec_path|" \
    "$here/$APP_ID.desktop" > "$apps_dir/$APP_ID.desktop"
chmod 644 "$apps_dir/$APP_ID.desktop"
install -m 644 "$here/$APP_ID.metainfo.xml" "$metainfo_dir/$APP_ID.metainfo.xml"
install -m 644 "$icon_src/app.svg" "$icons_dir/scalable/apps/$APP_ID.svg"
for size in "${SIZES[@]}"; do
    mkdir -p "$icons_dir/${size}x${size}/apps"
    install -m 644 "$icon_src/app-$size.png" "$icons_dir/${size}x${size}/apps/$APP_ID.png"
done
refresh_caches
echo "installed the zssbir menu entry ($apps_dir/$APP_ID.desktop) starting $exec_path"
echo "undo with: $0 --uninstall"
