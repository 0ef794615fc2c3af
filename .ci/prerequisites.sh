#!/bin/sh
# The system packages `make run` (app) and `make test` (test) need before pip can do the rest:
# Qt's X11 (xcb) libraries and unixODBC on Linux, unixODBC on macOS; for the tests also the
# PostgreSQL and MariaDB ODBC drivers and PostgreSQL's initdb/pg_ctl. Missing ones are installed
# when the package manager can be used without a password prompt (root, sudo -n, Homebrew);
# otherwise one line names them and the command that installs them, and the exit status is 1.
# QDBM_NO_SYSTEM_INSTALL=1 only checks and names. README.md's "Prerequisites" lists the same.
#
# usage: .ci/prerequisites.sh app|test   (PYTHON: the interpreter that makes .venv)
set -u

set_name=${1:-app}
PYTHON=${PYTHON:-python3}

# One requirement per line: how it is checked, then its Debian/Ubuntu, Fedora and Homebrew
# packages ("-": not needed there). lib: a shared library the loader must find (checked by its
# name, so a renamed package that provides it also counts); cmd: a program, also looked for in
# PostgreSQL's versioned folders; pkg: the package itself; venv: PYTHON can make a virtual env.
# The libraries are those PySide6's Qt libraries and its xcb, offscreen and GL-integration
# plug-ins link against that a bare Debian 12 lacks (objdump -p of each, tried in a debootstrap
# root by make fresh-check).
APP_REQUIREMENTS='
venv:-                      python3-venv            python3             -
lib:libGL.so.1              libgl1                  mesa-libGL          -
lib:libEGL.so.1             libegl1                 mesa-libEGL         -
lib:libfontconfig.so.1      libfontconfig1          fontconfig          -
lib:libfreetype.so.6        libfreetype6            freetype            -
lib:libglib-2.0.so.0        libglib2.0-0            glib2               -
lib:libdbus-1.so.3          libdbus-1-3             dbus-libs           -
lib:libgssapi_krb5.so.2     libgssapi-krb5-2        krb5-libs           -
lib:libbrotlidec.so.1       libbrotli1              libbrotli           -
lib:libxkbcommon.so.0       libxkbcommon0           libxkbcommon        -
lib:libxkbcommon-x11.so.0   libxkbcommon-x11-0      libxkbcommon-x11    -
lib:libX11.so.6             libx11-6                libX11              -
lib:libX11-xcb.so.1         libx11-xcb1             libX11-xcb          -
lib:libxcb.so.1             libxcb1                 libxcb              -
lib:libxcb-cursor.so.0      libxcb-cursor0          xcb-util-cursor     -
lib:libxcb-icccm.so.4       libxcb-icccm4           xcb-util-wm         -
lib:libxcb-image.so.0       libxcb-image0           xcb-util-image      -
lib:libxcb-keysyms.so.1     libxcb-keysyms1         xcb-util-keysyms    -
lib:libxcb-render-util.so.0 libxcb-render-util0     xcb-util-renderutil -
lib:libxcb-util.so.1        libxcb-util1            xcb-util            -
lib:libxcb-randr.so.0       libxcb-randr0           libxcb              -
lib:libxcb-render.so.0      libxcb-render0          libxcb              -
lib:libxcb-shape.so.0       libxcb-shape0           libxcb              -
lib:libxcb-shm.so.0         libxcb-shm0             libxcb              -
lib:libxcb-sync.so.1        libxcb-sync1            libxcb              -
lib:libxcb-xfixes.so.0      libxcb-xfixes0          libxcb              -
lib:libxcb-xkb.so.1         libxcb-xkb1             libxcb              -
lib:libxcb-glx.so.0         libxcb-glx0             libxcb              -
lib:libodbc.so.2            libodbc2                unixODBC            unixodbc
'
# The ODBC transport tests go through these two drivers; the password-protected PostgreSQL
# cluster of the connection tests is made with initdb and pg_ctl.
TEST_REQUIREMENTS='
pkg:-                       odbc-postgresql         postgresql-odbc     -
pkg:-                       odbc-mariadb            mariadb-connector-odbc -
cmd:initdb                  postgresql              postgresql-server   postgresql@16
cmd:pg_ctl                  postgresql              postgresql-server   postgresql@16
'

say() { printf 'qdbm: %s\n' "$*" >&2; }

case $set_name in
    app) requirements=$APP_REQUIREMENTS; goal="make run" ;;
    test) requirements=$APP_REQUIREMENTS$TEST_REQUIREMENTS; goal="make test" ;;
    *) say "usage: $0 app|test"; exit 2 ;;
esac

case $(uname -s) in
    Linux)
        if command -v apt-get >/dev/null 2>&1; then manager=apt; column=2
        elif command -v dnf >/dev/null 2>&1; then manager=dnf; column=3
        else manager=none; column=2
        fi ;;
    Darwin) manager=brew; column=4 ;;
    # Windows: the wheels carry Qt, and the ODBC driver manager is part of Windows.
    *) exit 0 ;;
esac

ldconfig_cache=
have_lib() {
    if [ "$manager" = brew ]; then
        prefix=$(brew --prefix 2>/dev/null) || return 1
        [ -e "$prefix/lib/${1%.so.*}.${1##*.so.}.dylib" ]
        return
    fi
    if [ -z "$ldconfig_cache" ]; then
        for ldconfig in /sbin/ldconfig /usr/sbin/ldconfig ldconfig; do
            ldconfig_cache=$("$ldconfig" -p 2>/dev/null) && break
        done
    fi
    printf '%s\n' "$ldconfig_cache" | grep -q "^[[:space:]]*$1 "
}

have_cmd() {
    command -v "$1" >/dev/null 2>&1 && return 0
    for found in /usr/lib/postgresql/*/bin/"$1" /opt/homebrew/opt/postgresql@*/bin/"$1" \
                 /usr/local/opt/postgresql@*/bin/"$1"; do
        [ -x "$found" ] && return 0
    done
    return 1
}

have_pkg() {
    case $manager in
        apt) dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed" ;;
        dnf) rpm -q "$1" >/dev/null 2>&1 ;;
        brew) brew list --versions "$1" >/dev/null 2>&1 ;;
        *) return 0 ;;  # no package manager to ask: only libraries and programs are checked
    esac
}

have_venv() {
    "$PYTHON" -c 'import ensurepip, venv' >/dev/null 2>&1
}

missing() {  # the packages (in this manager's names) whose requirement is not met, once each
    printf '%s\n' "$requirements" | while read -r check deb fedora brewname; do
        [ -n "$check" ] || continue
        case $column in 2) package=$deb ;; 3) package=$fedora ;; *) package=$brewname ;; esac
        [ "$package" = - ] && continue
        what=${check#*:}
        case $check in
            lib:*) have_lib "$what" ;;
            cmd:*) have_cmd "$what" ;;
            pkg:*) have_pkg "$package" ;;
            venv:*) have_venv ;;
        esac || printf '%s\n' "$package"
    done | awk '!seen[$0]++' | tr '\n' ' ' | sed 's/ $//'
}

needed=$(missing)
[ -z "$needed" ] && exit 0

case $manager in
    apt) install="apt-get install -y $needed" ;;
    dnf) install="dnf install -y $needed" ;;
    brew) install="brew install $needed" ;;
    none) say "$goal needs these libraries or programs, which this system lacks: $needed" \
              "(names of Debian's packages; install your distribution's equivalents)"; exit 1 ;;
esac

if [ "$manager" = brew ]; then
    sudo=""; can_install=yes
elif [ "$(id -u)" = 0 ]; then
    sudo=""; can_install=yes
elif command -v sudo >/dev/null 2>&1 && sudo -n true >/dev/null 2>&1; then
    sudo="sudo -n "; can_install=yes
else
    sudo="sudo "; can_install=no
fi
if [ "${QDBM_NO_SYSTEM_INSTALL:-}" = 1 ] || [ $can_install = no ]; then
    say "$goal needs these system packages: $needed; install them with: $sudo$install"
    exit 1
fi

say "installing the system packages $goal needs: $needed"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
case $manager in
    apt)
        ${sudo}env DEBIAN_FRONTEND=noninteractive apt-get update -qq >"$log" 2>&1 &&
        ${sudo}env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
            $needed >>"$log" 2>&1 ;;
    dnf) ${sudo}dnf install -y -q $needed >"$log" 2>&1 ;;
    brew) brew install --quiet $needed >"$log" 2>&1 ;;
esac || {
    tail -n 5 "$log" >&2
    say "installing failed (above: the package manager's last lines); run: $sudo$install"
    exit 1
}

ldconfig_cache=
still=$(missing)
if [ -n "$still" ]; then
    say "$goal still lacks $still after installing; run: $sudo$install"
    exit 1
fi
