#!/bin/sh
# The .deb as a user gets it (make deb-test; as root, CI runs it after make installer-test):
# installed with dpkg -i, its /usr/bin/qdbm-desktop --self-test (offscreen) and /usr/bin/qdbm
# --version run, the menu entry and icon checked, then dpkg -r, after which none of the package's
# files may be left. The app-data of the self-test and of qdbm go to a throwaway folder.
#
# usage: installer/linux/test-deb.sh [PACKAGE.deb]   (default: the one in dist/)
set -eu
root=$(cd "$(dirname "$0")/../.." && pwd)
deb=${1:-$(ls -t "$root"/dist/qdbm-desktop_*.deb 2>/dev/null | head -n 1)}
[ -n "$deb" ] && [ -f "$deb" ] || { echo "test-deb: no dist/qdbm-desktop_*.deb (run make installer)" >&2; exit 1; }
[ "$(id -u)" = 0 ] || { echo "test-deb: dpkg -i needs root (run it as root, or with sudo)" >&2; exit 1; }
if dpkg-query -W -f='${Status}' qdbm-desktop 2>/dev/null | grep -q "ok installed"; then
    echo "test-deb: qdbm-desktop is installed on this machine already; remove it first (dpkg -r qdbm-desktop)" >&2
    exit 1
fi

home=$(mktemp -d)
files=$(mktemp)
trap 'rm -rf "$home" "$files"; dpkg --purge qdbm-desktop >/dev/null 2>&1 || true' EXIT
# Every path the package holds, as installed (./opt/... becomes /opt/...).
dpkg-deb --fsys-tarfile "$deb" | tar -t | sed 's|^\./|/|; s|/$||' | grep -v '^/*$' >"$files"

echo "== dpkg -i $(basename "$deb")"
dpkg -i "$deb" >/dev/null
for path in /usr/bin/qdbm-desktop /usr/bin/qdbm /opt/qdbm-desktop/qdbm-desktop \
        /usr/share/applications/qdbm-desktop.desktop /usr/share/icons/hicolor/scalable/apps/qdbm-desktop.svg; do
    [ -e "$path" ] || { echo "test-deb: $path is missing after dpkg -i" >&2; exit 1; }
done
grep -q '^Exec=qdbm-desktop' /usr/share/applications/qdbm-desktop.desktop
if command -v desktop-file-validate >/dev/null 2>&1; then
    desktop-file-validate /usr/share/applications/qdbm-desktop.desktop
fi
size=$(du -sm /opt/qdbm-desktop | cut -f1)
echo "   installed: $size MB in /opt/qdbm-desktop"
# docs/installers.md has where the size goes; a bundle over this has picked up something new.
[ "$size" -lt 150 ] || { echo "test-deb: /opt/qdbm-desktop is $size MB, over 150 MB" >&2; exit 1; }

echo "== /usr/bin/qdbm-desktop --self-test"
QT_QPA_PLATFORM=offscreen QDBM_HOME="$home" /usr/bin/qdbm-desktop --self-test
echo "== /usr/bin/qdbm --version"
QDBM_HOME="$home" /usr/bin/qdbm --version

echo "== dpkg -r qdbm-desktop"
dpkg -r qdbm-desktop >/dev/null
left=$(while read -r path; do
    # Folders the system shares (/usr/bin, /usr/share/man ...) stay; only the package's own count.
    case $path in *qdbm*) ;; *) [ -d "$path" ] && [ ! -L "$path" ] && continue ;; esac
    if [ -e "$path" ] || [ -L "$path" ]; then printf '%s\n' "$path"; fi
done <"$files")
if [ -n "$left" ] || [ -e /opt/qdbm-desktop ]; then
    echo "test-deb: left behind after dpkg -r:" >&2
    printf '%s\n' "$left" | head -n 20 >&2
    exit 1
fi
echo "   removed: none of its $(wc -l <"$files") paths is left"
# dpkg keeps the name of a removed package with a postrm until it is purged: purged here too.
dpkg --purge qdbm-desktop >/dev/null
