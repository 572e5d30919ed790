#!/usr/bin/env bash
# Scale runs of the timing simulator: wall time, peak RSS and events per second of
# `hotfix sim run --stats`, measured with GNU time.
#
#   scripts/sim-scale.sh                      # scale-100k and scale-1m, 5 runs each
#   scripts/sim-scale.sh scale-1m             # one scenario
#   scripts/sim-scale.sh --runs 9 scale-1m    # more runs (medians are printed)
#   scripts/sim-scale.sh --nodes "10000 100000 300000 1000000"
#                                             # node-count curve: scale-1m with `nodes`
#                                             # set to each N and workstations to N/10
#   scripts/sim-scale.sh --runs 3 --model-nodes "1000000 5000000"
#                                             # the model path QA uses: per N, generate a
#                                             # model (N nodes, 0.3 N VUs, 1,000
#                                             # workstations, seed 1), `sim model check` it
#                                             # and `sim run` the sample's standard install
#                                             # on it with [timing]
#
# Each row is the median of the runs (wall, events/s) and the largest peak RSS. "engine"
# events/s counts the whole engine run (per-node set-up, event loop, result statistics);
# "loop" the event loop alone (docs/SIMULATOR-TIMING.md, "Engine and scale").
#
# Targets (DESIGN.md): 1,000,000 nodes full install in < 60 s with < 2 KB per node; the
# script exits 1 when scale-1m misses one. It never runs in CI (it builds a release
# binary); its figures go into docs/PERFORMANCE.md and docs/SIMULATOR-TIMING.md.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

runs=5
nodes_list=""
model_nodes=""
scenarios=()
while [ $# -gt 0 ]; do
    case "$1" in
    --runs) runs=$2; shift 2 ;;
    --nodes) nodes_list=$2; shift 2 ;;
    --model-nodes) model_nodes=$2; shift 2 ;;
    -h | --help) sed -n '2,24p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "error: unknown option $1" >&2; exit 2 ;;
    *) scenarios+=("$1"); shift ;;
    esac
done
case "$runs" in '' | *[!0-9]* | 0) echo "error: --runs needs a positive whole number" >&2; exit 2 ;; esac

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

out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT

# name<TAB>file pairs to run.
jobs=()
if [ -n "$nodes_list" ]; then
    for n in $nodes_list; do
        case "$n" in '' | *[!0-9]*) echo "error: --nodes takes whole numbers" >&2; exit 2 ;; esac
        f="$out/nodes-$n.toml"
        sed -e "s/^nodes = .*/nodes = $n/" -e "s/^workstations = .*/workstations = $((n / 10))/" \
            simulator/scenarios/scale-1m.toml >"$f"
        jobs+=("nodes-$n	$f")
    done
else
    [ ${#scenarios[@]} -eq 0 ] && scenarios=(scale-100k scale-1m)
    for name in "${scenarios[@]}"; do
        file="simulator/scenarios/$name.toml"
        [ -f "$file" ] || { echo "error: no $file" >&2; exit 2; }
        jobs+=("$name	$file")
    done
fi

median() { sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# One timed command: its wall seconds and peak RSS (KiB) appended to $out/<tag>.wall and
# $out/<tag>.rss; its stdout and stderr are left in $out/stdout and $out/err.
timed() {
    local tag=$1 rc=0
    shift
    /usr/bin/time -v -o "$out/time" "$@" >"$out/stdout" 2>"$out/err" || rc=$?
    # Exit 1 is a failed property (a verdict); 2 and above is a real error.
    if [ "$rc" -ge 2 ]; then
        echo "error: $* failed (exit $rc):" >&2
        cat "$out/err" >&2
        exit 2
    fi
    awk -F': ' '/Elapsed \(wall clock\)/ {print $2}' "$out/time" \
        | awk -F: '{ if (NF==3) print $1*3600+$2*60+$3; else print $1*60+$2 }' >>"$out/$tag.wall"
    awk -F': ' '/Maximum resident set size/ {print $2}' "$out/time" >>"$out/$tag.rss"
}

if [ -n "$model_nodes" ]; then
    printf '%s\n' "machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg); runs per row: $runs (median wall, largest peak RSS)"
    printf '%-10s %16s %16s %16s\n' nodes "generate s / MiB" "check s / MiB" "run s / MiB"
    for n in $model_nodes; do
        case "$n" in '' | *[!0-9]*) echo "error: --model-nodes takes whole numbers" >&2; exit 2 ;; esac
        rm -f "$out"/*.wall "$out"/*.rss
        model="$out/model-$n.xml"
        {
            printf 'model = "model-%s.xml"\n' "$n"
            printf 'package = "%s/packages/HF-7.0.3-0042"\n' "$root"
            printf 'runbook = "standard-install"\nseed = 1\n\n[timing]\n'
            printf 'uplink_bandwidth = "40Gbit/s"\nlink_bandwidth = "1Gbit/s"\nlatency = "20ms"\n'
            printf 'max_parallel_transfers = 1024\n'
            printf 'apply = { dist = "lognormal", median = "45s", sigma = 0.35 }\n'
        } >"$out/run-$n.toml"
        for _ in $(seq "$runs"); do
            timed gen "$bin" sim model generate --nodes "$n" --vus $((n * 3 / 10)) \
                --workstations 1000 --seed 1 -o "$model" --force
            timed check "$bin" sim model check "$model"
            timed run "$bin" sim run "$out/run-$n.toml"
        done
        row() { printf '%6.2f / %-6.0f' "$(median <"$out/$1.wall")" "$(sort -g "$out/$1.rss" | tail -1 | awk '{ print $1 / 1024 }')"; }
        printf '%-10s %16s %16s %16s\n' "$n" "$(row gen)" "$(row check)" "$(row run)"
        rm -f "$model"
    done
    exit 0
fi

printf '%s\n' "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'), load $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%s\n' "runs per row: $runs (medians; peak RSS is the largest)"
printf '%-14s %9s %8s %9s %10s %9s %12s %12s\n' scenario nodes wall_s rss_MiB bytes/node events engine_Mev/s loop_Mev/s
status=0
for job in "${jobs[@]}"; do
    name=${job%%	*}
    file=${job#*	}
    rm -f "$out"/*.wall "$out"/*.rss; : >"$out/engine"; : >"$out/loop"
    for _ in $(seq "$runs"); do
        timed scenario "$bin" sim run "$file" --stats --output-format json
        grep -o '([0-9.]* M events/s' "$out/err" | grep -o '[0-9.]*' | head -1 >>"$out/engine"
        grep -o 'event loop [0-9.]* s, [0-9.]* M' "$out/err" | awk '{print $5}' >>"$out/loop"
    done
    nodes=$(grep -o '"affected": [0-9]*' "$out/stdout" | head -1 | grep -o '[0-9]*$')
    events=$(grep -o 'engine: [0-9]* events' "$out/err" | grep -o '[0-9]*' | head -1)
    wall=$(median <"$out/scenario.wall")
    rss_kb=$(sort -n "$out/scenario.rss" | tail -1)
    per_node=$(( rss_kb * 1024 / nodes ))
    printf '%-14s %9s %8.2f %9.1f %10s %9s %12.2f %12.2f\n' "$name" "$nodes" "$wall" \
        "$(awk -v k="$rss_kb" 'BEGIN { print k / 1024 }')" "$per_node" "$events" \
        "$(median <"$out/engine")" "$(median <"$out/loop")"
    if [ "$name" = scale-1m ]; then
        if awk -v w="$wall" 'BEGIN { exit !(w >= 60) }' || [ "$per_node" -ge 2048 ]; then
            echo "scale-1m misses a target: wall ${wall}s (< 60 s), ${per_node} bytes/node (< 2048)" >&2
            status=1
        fi
    fi
done
exit $status
