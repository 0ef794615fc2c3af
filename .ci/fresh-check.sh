#!/usr/bin/env bash
# The README's set-up on a machine with nothing installed: a bare Debian 12 (debootstrap
# --variant=minbase, no Python, no make, no X libraries), a clean copy of HEAD in it, then what a
# new user does there:
#   1. `apt-get install make` (the one thing done by hand; .ci/prerequisites.sh names the rest,
#      checked first as a user without sudo: it must stop with one line),
#   2. `make test` as root, which installs the system packages itself, then pip, lint and pytest;
#      the run must end without a failure or an error, every skipped test must say why, and
#      every integration test must be skipped for want of a server (none runs there),
#   3. the app's --self-test on the offscreen platform,
#   4. `make run` on an X display (this machine's Xvfb): the main window must appear,
#   5. with unixODBC removed again: the ODBC tests skip saying how to get it, the self-test warns.
# Steps 2-5 run in a network namespace of their own with only loopback, so this machine's
# servers are out of reach; the packages are fetched before that, by the first part of `make
# test` (`make .venv/.test-installed`), with the network.
#
# The bare root is made once and kept in $QDBM_FRESH_CACHE (default /var/cache/qdbm-fresh-check);
# each check works in a fresh copy of it, removed afterwards. Needs root (chroot, mounts).
#
# For this network: pip reaches PyPI only through this machine's CA bundle and pip settings
# (/etc/pip.conf, /etc/xdg/pip, root's pip.conf, the PIP_* variables, and the local indexes and
# wheel folders they name, /opt/wheels, /opt/pypi, /opt/pypi-more), so they are copied or bound
# into the root. Elsewhere those simply do not exist and pip uses PyPI directly.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
cache=${QDBM_FRESH_CACHE:-/var/cache/qdbm-fresh-check}
mirror=${QDBM_FRESH_MIRROR:-http://deb.debian.org/debian}
ref=${QDBM_FRESH_REF:-HEAD}
bare=$cache/bookworm-minbase
started=$(date +%s)

log() { printf '== fresh-check [%3ds] %s\n' "$(( $(date +%s) - started ))" "$*"; }
fail() { printf '== fresh-check FAILED: %s\n' "$*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || fail "needs root (debootstrap, chroot and mounts); run it with sudo"
command -v unshare >/dev/null && command -v ip >/dev/null || fail "needs unshare (util-linux) and ip (iproute2)"
if ! command -v debootstrap >/dev/null; then
    log "installing debootstrap"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null
fi
mkdir -p "$cache"

if [ ! -d "$bare" ]; then
    log "making the bare Debian 12 root in $bare (once)"
    rm -rf "$bare.partial"
    debootstrap --variant=minbase bookworm "$bare.partial" "$mirror" >"$cache/debootstrap.log" 2>&1 \
        || fail "debootstrap failed; see $cache/debootstrap.log"
    # The suites of a Debian 12 installation.
    cat >"$bare.partial/etc/apt/sources.list" <<EOF
deb $mirror bookworm main
deb $mirror bookworm-updates main
deb http://deb.debian.org/debian-security bookworm-security main
EOF
    mv "$bare.partial" "$bare"
fi

root=$(mktemp -d "$cache/run.XXXXXX")
cleanup() {
    set +e
    [ -f "$root/tmp/xvfb.pid" ] && kill "$(cat "$root/tmp/xvfb.pid")" 2>/dev/null
    # Anything still running from the root (an app that outlived its timeout) holds its mounts.
    for proc in /proc/[0-9]*; do
        if [ "$(readlink "$proc/root" 2>/dev/null)" = "$root" ]; then kill -9 "${proc#/proc/}" 2>/dev/null; fi
    done
    for mount in $(awk -v r="$root/" 'index($2, r) == 1 {print $2}' /proc/self/mounts | sort -r); do
        umount "$mount" 2>/dev/null || umount -l "$mount"
    done
    # Removed only with nothing mounted below it, and never across into another file system.
    if awk -v r="$root/" 'index($2, r) == 1 {found=1} END {exit !found}' /proc/self/mounts; then
        echo "== fresh-check: mounts left under $root; not removing it" >&2
    else
        rm -rf --one-file-system "$root"
    fi
}
trap cleanup EXIT

log "copying the bare root"
cp -a "$bare/." "$root/"
cp /etc/resolv.conf "$root/etc/resolv.conf"
# A chroot starts no services: a PostgreSQL cluster made by the postgresql package would
# otherwise start on this machine's port 5432.
printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
chmod 755 "$root/usr/sbin/policy-rc.d"

# This network's pip: CA bundle, configuration and the local package folders it names.
# The bundle gets a path of its own: the ca-certificates package, if a step installs it, rewrites
# /etc/ssl/certs/ca-certificates.crt without this network's authority.
mkdir -p "$root/etc/qdbm-fresh-check" "$root/etc/xdg" "$root/root/.config"
pip_cert=
if [ -f /etc/ssl/certs/ca-certificates.crt ]; then
    cp /etc/ssl/certs/ca-certificates.crt "$root/etc/qdbm-fresh-check/ca-certificates.crt"
    pip_cert=/etc/qdbm-fresh-check/ca-certificates.crt
fi
[ -f /etc/pip.conf ] && cp /etc/pip.conf "$root/etc/pip.conf"
[ -d /etc/xdg/pip ] && cp -r /etc/xdg/pip "$root/etc/xdg/pip"
[ -d /root/.config/pip ] && cp -r /root/.config/pip "$root/root/.config/pip"
mount_ro() {
    mkdir -p "$root$1"
    mount --bind "$1" "$root$1"
    mount -o remount,bind,ro "$root$1"
}
for folder in /opt/wheels /opt/pypi /opt/pypi-more; do
    if [ -d "$folder" ]; then mount_ro "$folder"; fi
done
mount -t proc proc "$root/proc"
mount -t sysfs -o ro sysfs "$root/sys"
# A /dev of its own (tmpfs with the usual nodes, its own pts and shm), never this machine's: a
# bind of the host's /dev would let anything that deletes under the root delete the host's nodes.
mount -t tmpfs -o mode=755,size=16m tmpfs "$root/dev"
for node in "null 1 3" "zero 1 5" "full 1 7" "random 1 8" "urandom 1 9" "tty 5 0"; do
    set -- $node
    mknod -m 666 "$root/dev/$1" c "$2" "$3"
done
mkdir -p "$root/dev/pts" "$root/dev/shm"
mount -t devpts -o newinstance,ptmxmode=0666 devpts "$root/dev/pts"
ln -s pts/ptmx "$root/dev/ptmx"
mount -t tmpfs -o mode=1777 tmpfs "$root/dev/shm"
ln -s /proc/self/fd "$root/dev/fd"
ln -s /proc/self/fd/0 "$root/dev/stdin"
ln -s /proc/self/fd/1 "$root/dev/stdout"
ln -s /proc/self/fd/2 "$root/dev/stderr"
# Downloaded .deb files are kept between checks (the root itself is always fresh).
mkdir -p "$cache/apt-archives/partial"
mount --bind "$cache/apt-archives" "$root/var/cache/apt/archives"

log "copying $ref of $repo (git archive) to /srv/qdbm-desktop"
mkdir -p "$root/srv/qdbm-desktop"
git -C "$repo" archive "$ref" | tar -x -C "$root/srv/qdbm-desktop"

pip_env=()
while IFS='=' read -r name _; do
    pip_env+=("$name=${!name}")
done < <(env | grep -E '^PIP_[A-Z_]+=' | grep -v '^PIP_CERT=' || true)
if [ -n "$pip_cert" ]; then pip_env+=("PIP_CERT=$pip_cert"); fi
in_root() {  # in_root COMMAND...: as root in the copy, with a plain new user's environment
    chroot "$root" /usr/bin/env -i HOME=/root PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
        LANG=C.UTF-8 TERM=dumb "${pip_env[@]}" "$@"
}

log "step 1: the prerequisites check as a user without sudo must stop with one line"
set +e
chroot --userspec=65534:65534 "$root" /usr/bin/env -i PATH=/usr/bin:/bin HOME=/tmp \
    sh /srv/qdbm-desktop/.ci/prerequisites.sh test >"$root/tmp/prereq.out" 2>"$root/tmp/prereq.err"
status=$?
set -e
cat "$root/tmp/prereq.err"
[ "$status" = 1 ] || fail "the check exited $status, not 1"
[ "$(wc -l <"$root/tmp/prereq.err")" = 1 ] && [ ! -s "$root/tmp/prereq.out" ] \
    || fail "the check printed more than one line"
grep -q "install them with: sudo apt-get install -y .*libxcb-icccm4" "$root/tmp/prereq.err" \
    || fail "the line does not name the packages and the apt-get command"

log "step 1: apt-get install make (by hand, as the README says)"
in_root sh -c 'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq make' >/dev/null

log "step 2: make test, first part with the network: system packages and pip"
in_root sh -c 'cd /srv/qdbm-desktop && make .venv/.test-installed' >"$root/tmp/setup.log" 2>&1 || true
cat "$root/tmp/setup.log"
[ -f "$root/srv/qdbm-desktop/.venv/.test-installed" ] || fail "the set-up did not finish"
log "set up in $(( $(date +%s) - started )) s"

# The rest without the network: this machine's servers must not be found from the root.
cat >"$root/tmp/offline.sh" <<'EOF'
set -u
cd /srv/qdbm-desktop
echo "== make test"
make test PYTEST_ARGS="--junitxml=/tmp/junit.xml" >/tmp/make-test.log 2>&1
echo "$?" >/tmp/make-test.status
tail -n 40 /tmp/make-test.log
echo "== qdbm-desktop --self-test (offscreen)"
QT_QPA_PLATFORM=offscreen .venv/bin/qdbm-desktop --self-test >/tmp/self-test.log 2>&1
echo "$?" >/tmp/self-test.status
cat /tmp/self-test.log
EOF
cat >"$root/tmp/no-unixodbc.sh" <<'EOF'
set -u
cd /srv/qdbm-desktop
echo "== without unixODBC (libodbc2 removed): its tests skip with the reason, the self-test warns"
dpkg --remove --force-depends libodbc2 >/dev/null 2>&1
QT_QPA_PLATFORM=offscreen .venv/bin/python -m pytest -q -rs -p no:cacheprovider tests/integration/test_odbc_transport.py \
    tests/core/test_sqlserver_dialect.py tests/gui/test_connection_dialog.py >/tmp/no-odbc.log 2>&1
echo "$?" >/tmp/no-odbc.status
grep -E "^SKIPPED|passed|failed|error" /tmp/no-odbc.log
QT_QPA_PLATFORM=offscreen .venv/bin/qdbm-desktop --self-test >/tmp/no-odbc-self-test.log 2>&1
echo "$?" >/tmp/no-odbc-self-test.status
grep -E "SQL Server|self-test" /tmp/no-odbc-self-test.log
EOF
offline() {
    ip link set lo up
    in_root sh /tmp/offline.sh
    if command -v Xvfb >/dev/null; then
        Xvfb :73 -nolisten tcp -screen 0 1280x800x24 >/dev/null 2>&1 &
        xvfb_pid=$!
        echo "$xvfb_pid" >"$root/tmp/xvfb.pid"
        sleep 2
        echo "== make run (on Xvfb :73, the xcb platform)"
        in_root sh -c 'cd /srv/qdbm-desktop && DISPLAY=:73 timeout 40 make run' >"$root/tmp/make-run.log" 2>&1 &
        local run_pid=$! window=no
        for _ in $(seq 1 35); do
            sleep 1
            if DISPLAY=:73 xwininfo -root -tree 2>/dev/null | grep -q '"QDBM Desktop'; then window=yes; break; fi
        done
        echo "$window" >"$root/tmp/make-run.window"
        wait "$run_pid"
        kill "$xvfb_pid" 2>/dev/null; wait "$xvfb_pid" 2>/dev/null; rm -f "$root/tmp/xvfb.pid"
        cat "$root/tmp/make-run.log"
    else
        echo "== no Xvfb on this machine: make run is started on the offscreen platform"
        in_root sh -c 'cd /srv/qdbm-desktop && QT_QPA_PLATFORM=offscreen timeout 20 make run' \
            >"$root/tmp/make-run.log" 2>&1
        echo "$?" >"$root/tmp/make-run.status"
        cat "$root/tmp/make-run.log"
    fi
    in_root sh /tmp/no-unixodbc.sh
}
log "steps 2-5 without the network"
pip_env_text=$(declare -p pip_env)
unshare --net bash -c "root='$root'; $pip_env_text; $(declare -f in_root offline); offline"

log "checking the results"
python3 "$repo/.ci/junit_summary.py" "$root/tmp/junit.xml" || fail "the test run is not as it should be"
[ "$(cat "$root/tmp/make-test.status")" = 0 ] || fail "make test exited $(cat "$root/tmp/make-test.status")"
[ "$(cat "$root/tmp/self-test.status")" = 0 ] || fail "the self-test exited $(cat "$root/tmp/self-test.status")"
if [ -f "$root/tmp/make-run.window" ]; then
    [ "$(cat "$root/tmp/make-run.window")" = yes ] || fail "make run showed no QDBM Desktop window"
    if grep -qiE "traceback|could not load the qt platform plugin" "$root/tmp/make-run.log"; then
        fail "make run printed an error"
    fi
else
    [ "$(cat "$root/tmp/make-run.status")" = 124 ] || fail "make run stopped before its timeout"
fi
[ "$(cat "$root/tmp/no-odbc.status")" = 0 ] || fail "without unixODBC the ODBC tests did not pass or skip"
grep -q "^SKIPPED .*pyodbc cannot be loaded.*apt-get install unixodbc" "$root/tmp/no-odbc.log" \
    || fail "without unixODBC the ODBC tests did not skip saying how to get it"
[ "$(cat "$root/tmp/no-odbc-self-test.status")" = 0 ] || fail "without unixODBC the self-test failed"
grep -q "warn SQL Server driver: .*apt-get install unixodbc" "$root/tmp/no-odbc-self-test.log" \
    || fail "without unixODBC the self-test did not say how to get it"
log "passed: make test, --self-test and make run work on a bare Debian 12 ($(( $(date +%s) - started )) s)"
