#!/usr/bin/env bash
# Peak memory of verify and extract on unsigned packages with a 64 MiB central directory
# (the format's cap): one with 1,000,000 short records, one with ~1,100 records of
# 60,000-byte names, each after a real hotfix.xml. Nothing is signed, so everything the
# tools hold is held before any signature is checked; it must stay <= 32 MiB
# (DESIGN.md), whatever the central directory holds.
#   benches/rss-hostile-cd.sh [WORKDIR]        (HOTFIX=path/to/hotfix to skip the build)
set -euo pipefail
cd "$(dirname "$0")/.."
work="${1:-bench-work/rss-hostile-cd}"
[ -x /usr/bin/time ] || { apt-get update -qq && apt-get install -y -qq time >/dev/null; }
if [ -z "${HOTFIX:-}" ]; then
  cargo build --release --locked --quiet
  HOTFIX="$PWD/target/release/hotfix"
fi
rm -rf "$work" && mkdir -p "$work/install" && cd "$work"
python3 - <<'PY'
import struct, zlib
xml = (b'<?xml version="1.0" encoding="UTF-8"?>\n<hotfix format="1" id="HF-CD-1" version="1">\n'
       b'  <title>t</title>\n</hotfix>\n')
dos = ((45 << 9 | 6 << 5 | 1) << 16)
def local(name, data):
    return struct.pack('<IHHHIIIIHH', 0x04034b50, 20, 0, 0, dos, zlib.crc32(data),
                       len(data), len(data), len(name), 0) + name + data
def central(name, data, offset):
    return struct.pack('<IHHHHIIIIHHHHHII', 0x02014b50, 0x0314, 20, 0, 0, dos,
                       zlib.crc32(data), len(data), len(data), len(name), 0, 0, 0, 0,
                       0o100644 << 16, offset) + name
for label, count, name_len in (("many-records", 999_999, 20), ("long-names", 1_110, 60_000)):
    body = local(b'hotfix.xml', xml)
    cd = [central(b'hotfix.xml', xml, 0)]
    for i in range(count):
        name = (b'server/P/%09d' % i).ljust(name_len, b'n')
        cd.append(central(name, b'x', 0))
    cd = b''.join(cd)
    assert len(cd) <= 64 << 20, len(cd)
    n = count + 1
    end = b''
    if n >= 0xFFFF:  # the ZIP64 end record and locator, as the writer makes them
        z_at = len(body) + len(cd)
        end = struct.pack('<IQHHIIQQQQ', 0x06064b50, 44, 0x0314, 45, 0, 0, n, n, len(cd), len(body))
        end += struct.pack('<IIQI', 0x07064b50, 0, z_at, 1)
    n16 = min(n, 0xFFFF)
    end += struct.pack('<IHHHHIIH', 0x06054b50, 0, 0, n16, n16, len(cd), len(body), 0)
    with open(f'{label}.zip', 'wb') as f:
        f.write(body + cd + end)
PY
"$HOTFIX" keygen --output k --no-passphrase >/dev/null 2>&1
echo "$(nproc) cores; load: $(cut -d' ' -f1-3 /proc/loadavg)"
for label in many-records long-names; do
  echo "$label.zip: $(stat -c %s "$label.zip") bytes"
  /usr/bin/time -o t.txt -f "  hotfix verify:  exit %x, %e s, peak RSS %M KiB" \
    "$HOTFIX" verify "$label.zip" --trusted k.pub >/dev/null 2>&1 || true
  cat t.txt
  /usr/bin/time -o t.txt -f "  hotfix extract: exit %x, %e s, peak RSS %M KiB" \
    "$HOTFIX" extract "$label.zip" --install-dir install --trusted k.pub >/dev/null 2>&1 || true
  cat t.txt
done
