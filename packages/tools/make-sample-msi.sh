#!/bin/sh
# Builds packages/HF-7.0.3-0042/client/AgentDesktop.msi from AgentDesktop.wxs with wixl.
#
# Needs: wixl and msibuild (Debian packages wixl, msitools). faketime (Debian package
# faketime) is optional but makes the file byte-for-byte reproducible: wixl 0.101 writes
# the wall-clock time into the Summary Information (Created, Last saved) and a random
# package code (Revision number). The script pins the time with faketime and resets the
# package code with msibuild, so two runs give identical bytes.
#
# The .msi is committed: CI and tests never need wixl.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
out="$here/../HF-7.0.3-0042/client/AgentDesktop.msi"
package_code="{3C7D2B1A-9E8F-4A6B-B5C4-D3E2F1A0B9C8}"
fixed_time="2026-11-25 00:00:00"

for tool in wixl msibuild; do
    command -v "$tool" >/dev/null || { echo "error: $tool not found (apt-get install wixl msitools)" >&2; exit 2; }
done

cd "$here"
mkdir -p "$(dirname "$out")"
tmp="$out.tmp"
if command -v faketime >/dev/null; then
    TZ=UTC faketime -f "$fixed_time" wixl -o "$tmp" AgentDesktop.wxs
else
    echo "warning: faketime not found; the MSI's creation time will be now (not reproducible)" >&2
    wixl -o "$tmp" AgentDesktop.wxs
fi
msibuild "$tmp" -s "Agent Desktop 7.0.3.5 (hotfix HF-7.0.3-0042)" \
    "Example Contact Center Platform" "Intel;1033" "$package_code"
mv "$tmp" "$out"
echo "wrote $out"
if command -v msiinfo >/dev/null; then
    msiinfo export "$out" Property | grep -E '^(ProductCode|UpgradeCode|ProductVersion|ProductName)\b'
fi
