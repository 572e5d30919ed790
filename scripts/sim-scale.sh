#!/usr/bin/env bash
# Scale runs of the timing simulator: wall time and peak RSS of `hotfix sim run` on
# simulator/scenarios/scale-100k.toml and scale-1m.toml, measured with GNU time.
#
#   scripts/sim-scale.sh            # both scenarios
#   scripts/sim-scale.sh scale-1m   # one of them
#
# Targets (docs/SIMULATOR-TIMING.md, DESIGN.md): 1,000,000 nodes full install in < 60 s
# with < 2 KB per node. The script exits 1 when scale-1m misses a target. It never runs in
# CI (it builds a release binary); its figures go into docs/SIMULATOR-TIMING.md.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

if [ ! -x /usr/bin/time ]; then
    echo "GNU time is missing; installing it (apt-get install time)" >&2
    if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
        (apt-get install -y time >/dev/null 2>&1 || { apt-get update >/dev/null && apt-get install -y time >/dev/null; })
    else
        echo "error: /usr/bin/time not found and cannot install it; install the 'time' package" >&2
        exit 2
    fi
fi

echo "building the release binary..." >&2
cargo build --release --quiet --bin hotfix
bin="$root/target/release/hotfix"

scenarios=("$@")
[ ${#scenarios[@]} -eq 0 ] && scenarios=(scale-100k scale-1m)

out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT

printf '%s\n' "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')"
printf '%-12s %10s %10s %12s %12s %14s %12s\n' scenario nodes wall_s peak_rss_MiB bytes/node events M_events/s
status=0
for name in "${scenarios[@]}"; do
    file="simulator/scenarios/$name.toml"
    [ -f "$file" ] || { echo "error: no $file" >&2; exit 2; }
    set +e
    /usr/bin/time -v -o "$out/$name.time" "$bin" sim run "$file" --stats --output-format json \
        >"$out/$name.json" 2>"$out/$name.err"
    rc=$?
    set -e
    # Exit 1 means a property failed (expected with faults); 2 is a real error.
    if [ $rc -ge 2 ]; then
        echo "error: $name failed (exit $rc):" >&2
        cat "$out/$name.err" >&2
        exit 2
    fi
    wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {print $2}' "$out/$name.time" \
        | awk -F: '{ if (NF==3) print $1*3600+$2*60+$3; else print $1*60+$2 }')
    rss_kb=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$out/$name.time")
    nodes=$(grep -o '"affected": [0-9]*' "$out/$name.json" | head -1 | grep -o '[0-9]*$')
    events=$(grep -o 'engine: [0-9]* events' "$out/$name.err" | grep -o '[0-9]*' | head -1)
    evs=$(grep -o '([0-9.]* M events/s)' "$out/$name.err" | grep -o '[0-9.]*' | head -1)
    per_node=$(( rss_kb * 1024 / nodes ))
    printf '%-12s %10s %10.2f %12.1f %12s %14s %12s\n' "$name" "$nodes" "$wall" \
        "$(awk -v k="$rss_kb" 'BEGIN { print k / 1024 }')" "$per_node" "$events" "$evs"
    if [ "$name" = scale-1m ]; then
        if awk -v w="$wall" 'BEGIN { exit !(w >= 60) }' || [ "$per_node" -ge 2048 ]; then
            echo "scale-1m misses a target: wall ${wall}s (< 60 s), ${per_node} bytes/node (< 2048)" >&2
            status=1
        fi
    fi
done
exit $status
