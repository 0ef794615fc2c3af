#!/bin/sh
# The macOS disk image (make installer runs it on macOS, after PyInstaller has built
# "dist/QDBM Desktop.app"): the app, signed, beside a link to /Applications to drag it onto,
# in dist/QDBM-Desktop-VERSION.dmg.
#
# Signing is ad hoc (`codesign -s -`) unless CODESIGN_IDENTITY names a Developer ID Application
# certificate in the keychain; then the app is signed with it and the hardened runtime, ready
# for notarization (docs/installers.md has the notarytool and stapler steps).
#
# usage: installer/macos/make-dmg.sh [DIST_DIR]     (macOS only: codesign, hdiutil)
set -eu
root=$(cd "$(dirname "$0")/../.." && pwd)
dist=${1:-$root/dist}
app="$dist/QDBM Desktop.app"
version=$(sed -n 's/^__version__ = "\(.*\)"$/\1/p' "$root/qdbm_desktop/__init__.py")
dmg="$dist/QDBM-Desktop-$version.dmg"

[ "$(uname -s)" = Darwin ] || { echo "make-dmg: needs macOS (codesign, hdiutil)" >&2; exit 1; }
[ -d "$app" ] || { echo "make-dmg: no $app (run make installer)" >&2; exit 1; }

if [ -n "${CODESIGN_IDENTITY:-}" ]; then
    codesign --force --deep --options runtime --timestamp -s "$CODESIGN_IDENTITY" "$app"
else
    codesign --force --deep -s - "$app"
fi
codesign --verify --deep --strict "$app"

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
cp -R "$app" "$stage/"
ln -s /Applications "$stage/Applications"
rm -f "$dmg"
hdiutil create -quiet -volname "QDBM Desktop" -srcfolder "$stage" -fs HFS+ -format UDZO "$dmg"
if [ -n "${CODESIGN_IDENTITY:-}" ]; then
    codesign --force --timestamp -s "$CODESIGN_IDENTITY" "$dmg"
fi
echo "$dmg"
