#!/bin/sh
# Installs QDBM Desktop for the current user from this unpacked folder: `qdbm-desktop` and `qdbm`
# in ~/.local/bin, the menu entry and its icon. `./install-linux.sh --uninstall` takes them away
# again (the folder itself and the app-data folder stay).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
bin="${XDG_BIN_HOME:-$HOME/.local/bin}"
data="${XDG_DATA_HOME:-$HOME/.local/share}"
apps="$data/applications"
icons="$data/icons/hicolor/scalable/apps"

if [ "${1:-}" = "--uninstall" ]; then
    rm -f "$bin/qdbm-desktop" "$bin/qdbm" "$apps/qdbm-desktop.desktop" "$icons/qdbm-desktop.svg"
    command -v update-desktop-database >/dev/null 2>&1 && update-desktop-database -q "$apps" || true
    echo "QDBM Desktop removed from the menu and from $bin"
    exit 0
fi

mkdir -p "$bin" "$apps" "$icons"
ln -sf "$here/qdbm-desktop" "$bin/qdbm-desktop"
ln -sf "$here/qdbm" "$bin/qdbm"
cp "$here/qdbm-desktop.svg" "$icons/qdbm-desktop.svg"
# The menu entry starts this very folder's executable, whether or not ~/.local/bin is on PATH.
sed "s|^Exec=qdbm-desktop|Exec=\"$here/qdbm-desktop\"|" "$here/qdbm-desktop.desktop" >"$apps/qdbm-desktop.desktop"
command -v update-desktop-database >/dev/null 2>&1 && update-desktop-database -q "$apps" || true
command -v gtk-update-icon-cache >/dev/null 2>&1 && gtk-update-icon-cache -q -t "$data/icons/hicolor" || true
echo "QDBM Desktop is in the applications menu; on the command line: $bin/qdbm-desktop, $bin/qdbm"
