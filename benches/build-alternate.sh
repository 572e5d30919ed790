#!/usr/bin/env bash
# Two `hotfix build` binaries on one source, run alternately (so that both see the same
# load), ROUNDS times each: median wall and CPU (user+sys) seconds, peak RSS, and whether
# every package both made is byte-identical. CPU time is the figure to compare on a
# shared machine; wall time moves with the load.
#   benches/build-alternate.sh BEFORE_BINARY AFTER_BINARY SOURCE_DIR [ROUNDS] [WORKDIR]
# The 20,000-file corpus of compare.py is made by
#   python3 -c 'import sys; sys.path.insert(0, "benches"); import compare, pathlib; compare.make_small(pathlib.Path("bench-work/small"), 20000)'
set -euo pipefail
before="$(realpath "$1")"
after="$(realpath "$2")"
source="$(realpath "$3")"
rounds="${4:-5}"
work="${5:-bench-work/build-alternate}"
[ -x /usr/bin/time ] || { apt-get update -qq && apt-get install -y -qq time >/dev/null; }
rm -rf "$work" && mkdir -p "$work" && cd "$work"
"$after" keygen --output k --no-passphrase >/dev/null 2>&1
export SOURCE_DATE_EPOCH=1764028800 NO_COLOR=1
echo "$(nproc) cores; load at the start: $(cut -d' ' -f1-3 /proc/loadavg)"
for _ in $(seq 1 "$rounds"); do
  for which in before after; do
    bin="$before"
    [ "$which" = after ] && bin="$after"
    rm -f "$which.zip"
    /usr/bin/time -f "$which %e %U %S %M" -a -o times.txt "$bin" build "$source" --key k.key --output "$which.zip" >/dev/null 2>&1
    sha256sum < "$which.zip" | cut -d' ' -f1 >> "sums.txt"
  done
done
echo "load at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
python3 - <<'EOF'
import statistics
rows = {}
for line in open("times.txt"):
    which, wall, user, sys_, rss = line.split()
    rows.setdefault(which, []).append((float(wall), float(user) + float(sys_), int(rss)))
for which in ("before", "after"):
    r = rows[which]
    print(f"{which:6}  wall {statistics.median(x[0] for x in r):6.2f} s  "
          f"cpu {statistics.median(x[1] for x in r):6.2f} s  peak RSS {max(x[2] for x in r) / 1024:6.1f} MiB  "
          f"({len(r)} runs)")
sums = set(open("sums.txt").read().split())
print("packages byte-identical:", "yes" if len(sums) == 1 else f"NO ({len(sums)} different)")
EOF
