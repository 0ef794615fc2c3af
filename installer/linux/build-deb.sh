#!/bin/sh
# Packs the PyInstaller folder dist/qdbm-desktop/ into a Debian package, dist/qdbm-desktop_VERSION_ARCH.deb
# (make installer runs it on Linux). The package puts the folder in /opt/qdbm-desktop, links
# qdbm-desktop and qdbm into /usr/bin, and adds the menu entry and its icon; `dpkg -r qdbm-desktop`
# takes all of it away again. The users' app-data folders (~/.local/share/QDBM Desktop) are theirs
# and stay.
#
# Depends lists the system libraries the bundle's Qt and pyodbc load from the system: the
# libraries of .ci/prerequisites.sh's app set (found missing on a bare Debian 12 by make fresh-check).
#
# usage: installer/linux/build-deb.sh [DIST_DIR]     (needs dpkg-deb; fakeroot when not root)
# It prints the path of the .deb written.
set -eu
root=$(cd "$(dirname "$0")/../.." && pwd)
dist=${1:-$root/dist}
bundle=$dist/qdbm-desktop
package=qdbm-desktop
version=$(sed -n 's/^__version__ = "\(.*\)"$/\1/p' "$root/qdbm_desktop/__init__.py")
arch=$(dpkg --print-architecture)
deb=$dist/${package}_${version}_${arch}.deb
# Whoever builds a release names themselves (DEB_MAINTAINER="Name <address>").
maintainer=${DEB_MAINTAINER:-QDBM Desktop <qdbm-desktop@localhost>}

[ -x "$bundle/qdbm-desktop" ] || { echo "build-deb: no bundle in $bundle (run make installer)" >&2; exit 1; }
command -v dpkg-deb >/dev/null || { echo "build-deb: dpkg-deb is missing (apt-get install dpkg)" >&2; exit 1; }

# The package tree is put together in build/deb (DEB_STAGE moves it).
stage=${DEB_STAGE:-$root/build/deb}/$package
rm -rf "$stage"
mkdir -p "$stage/DEBIAN" "$stage/opt" "$stage/usr/bin" "$stage/usr/share/applications" \
    "$stage/usr/share/icons/hicolor/scalable/apps" "$stage/usr/share/doc/$package" "$stage/usr/share/man/man1" \
    "$stage/usr/share/lintian/overrides"

# The folder, less what only the tarball's own install script needs.
cp -a "$bundle" "$stage/opt/$package"
rm -f "$stage/opt/$package/install-linux.sh" "$stage/opt/$package/qdbm-desktop.desktop" \
    "$stage/opt/$package/qdbm-desktop.svg"
# Shared libraries are mapped, never run: no execute bit (lintian: shared-library-is-executable).
find "$stage/opt/$package/_internal" -type f -name '*.so*' -exec chmod 644 {} +
ln -s "/opt/$package/qdbm-desktop" "$stage/usr/bin/qdbm-desktop"
ln -s "/opt/$package/qdbm" "$stage/usr/bin/qdbm"
install -m 644 "$root/resources/qdbm-desktop.desktop" "$stage/usr/share/applications/qdbm-desktop.desktop"
install -m 644 "$root/resources/icons/app.svg" "$stage/usr/share/icons/hicolor/scalable/apps/qdbm-desktop.svg"

cat >"$stage/usr/share/doc/$package/copyright" <<EOF
Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: QDBM Desktop
Comment: /opt/$package holds QDBM Desktop $version with the Python interpreter, Qt (PySide6)
 and the database drivers it is built with, each under its own licence (their licence files
 are in the folder, beside each library's metadata).

Files: *
Copyright: $(date -u -d @"${SOURCE_DATE_EPOCH:-$(date +%s)}" +%Y) the QDBM Desktop authors
License: see the project's repository
EOF
printf '%s (%s) stable; urgency=medium\n\n  * Release %s.\n\n -- %s  %s\n' \
    "$package" "$version" "$version" "$maintainer" "$(date -R -d @"${SOURCE_DATE_EPOCH:-$(date +%s)}")" \
    | gzip -9n >"$stage/usr/share/doc/$package/changelog.gz"

# A short manual page for each command: what it is, where the full help is, where the data lives.
man_page() {  # man_page COMMAND TITLE WHAT
    cat <<EOF
.TH $2 1 "" "QDBM Desktop $version"
.SH NAME
$1 \- $3
.SH SYNOPSIS
.B $1
[\fIOPTIONS\fR]
.SH DESCRIPTION
Moves a SQL query's result from one database (PostgreSQL, MySQL/MariaDB, SQLite, SQL Server,
Oracle) into a table of another, now or on a schedule.
.B $1 --help
lists the options.
.SH FILES
.I "~/.local/share/QDBM Desktop"
holds each user's connections, schedules and history; QDBM_HOME or --home names another folder.
Removing the package leaves it in place.
EOF
}
man_page qdbm-desktop QDBM-DESKTOP "the desktop app of QDBM Desktop" | gzip -9n >"$stage/usr/share/man/man1/qdbm-desktop.1.gz"
man_page qdbm QDBM "the command line of QDBM Desktop" | gzip -9n >"$stage/usr/share/man/man1/qdbm.1.gz"

cat >"$stage/usr/share/lintian/overrides/$package" <<EOF
# A self-contained PyInstaller folder, installed where add-on software goes.
$package: dir-or-file-in-opt [opt/$package/*]
# Its libraries find each other through \$ORIGIN, wherever the folder is; they are the ones the
# app was built and tested with (PyInstaller collects them), not the system's copies.
$package: custom-library-search-path *
$package: embedded-library *
$package: shared-library-lacks-prerequisites *
# PyInstaller's launchers, and two of Python's own modules that call no C library function.
$package: hardening-no-pie [opt/$package/*]
$package: library-not-linked-against-libc [opt/$package/_internal/*]
EOF

# The C library of the build machine is the oldest one the bundle runs with.
libc=$(dpkg-query -W -f='${Version}' libc6 | sed 's/-.*//')
depends="libc6 (>= $libc), "$(sed -n "/^APP_REQUIREMENTS='/,/^'/p" "$root/.ci/prerequisites.sh" \
    | awk '$1 ~ /^lib:/ { printf "%s%s", sep, $2; sep = ", " }')

cat >"$stage/DEBIAN/control" <<EOF
Package: $package
Version: $version
Architecture: $arch
Maintainer: $maintainer
Installed-Size: $(du -sk --exclude=DEBIAN "$stage" | cut -f1)
Depends: $depends
Section: database
Priority: optional
Description: move a SQL query's result from one database into another
 QDBM Desktop is a desktop app (qdbm-desktop) and a command line (qdbm) that
 copy the result of a SQL query from PostgreSQL, MySQL/MariaDB, SQLite,
 SQL Server or Oracle into a table of another, now or on a schedule.
 .
 Each user's connections, schedules and run history stay in their own
 app-data folder, which removing the package leaves in place.
EOF

# Removing the package also takes away anything the app may have left inside its own folder.
cat >"$stage/DEBIAN/postrm" <<EOF
#!/bin/sh
set -e
case "\$1" in
    remove|purge) rm -rf /opt/$package ;;
esac
EOF
chmod 755 "$stage/DEBIAN/postrm"

fake=
if [ "$(id -u)" != 0 ]; then
    command -v fakeroot >/dev/null || { echo "build-deb: needs root or fakeroot (apt-get install fakeroot)" >&2; exit 1; }
    fake=fakeroot
fi
# gzip by default: 12 s here for a 62 MB file; DEB_COMPRESSION=xz (the release workflow's) makes it
# 42 MB but takes minutes on 2 cores. --root-owner-group makes root the owner of every file.
$fake dpkg-deb --root-owner-group -Z"${DEB_COMPRESSION:-gzip}" --build "$stage" "$deb" >/dev/null
echo "$deb"
