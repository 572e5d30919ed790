#!/usr/bin/env bash
# Runs the cargo-fuzz targets in fuzz/ one after another, each for a fixed time.
#
#   scripts/fuzz.sh [TARGET...] [--seconds N]
#
# With no TARGET, runs every target. Each run: copies fuzz/seeds/<target>/ into
# fuzz/corpus/<target>/ (gitignored, grows across runs), then runs libFuzzer for N
# seconds (default 600) at the lowest CPU priority, one process, RSS capped at 2 GiB.
# A summary line per target (executions, coverage, crash/timeout/oom inputs) goes to
# stdout and to fuzz/logs/summary.txt; full libFuzzer output to fuzz/logs/<target>.log.
# Crashing inputs land in fuzz/artifacts/<target>/ (see docs/FUZZING.md for what to do
# with them).
#
# Environment:
#   FUZZ_SANITIZER  address (default) or none
#   FUZZ_ARGS       extra libFuzzer arguments, e.g. "-max_len=65536"
#
# Only a stable toolchain is installed; cargo-fuzz needs nightly-only flags
# (-Zsanitizer, sancov passes), so RUSTC_BOOTSTRAP=1 unlocks them (docs/FUZZING.md).
#
# Exit status: 0 when every target ran without finding anything, 1 when some target
# left a crash/timeout/oom input, 2 on usage or build errors.
set -euo pipefail

cd "$(dirname "$0")/.."
root=$(pwd)

ALL_TARGETS=(manifest_xml signature build_spec msi_properties package_verify
    system_model_xml scenario_toml trust_files)

usage() {
    sed -n '2,6p' "$0" | sed 's/^# \{0,1\}//'
    echo "targets: ${ALL_TARGETS[*]}"
}

seconds=600
targets=()
while [ $# -gt 0 ]; do
    case "$1" in
    --seconds)
        [ $# -ge 2 ] || { usage >&2; exit 2; }
        seconds=$2
        shift 2
        ;;
    --seconds=*)
        seconds=${1#--seconds=}
        shift
        ;;
    -h | --help)
        usage
        exit 0
        ;;
    -*)
        echo "error: unknown option $1" >&2
        usage >&2
        exit 2
        ;;
    *)
        targets+=("$1")
        shift
        ;;
    esac
done
case "$seconds" in
'' | *[!0-9]*)
    echo "error: --seconds needs a whole number, not '$seconds'" >&2
    exit 2
    ;;
esac
[ ${#targets[@]} -gt 0 ] || targets=("${ALL_TARGETS[@]}")
for t in "${targets[@]}"; do
    case " ${ALL_TARGETS[*]} " in
    *" $t "*) ;;
    *)
        echo "error: unknown target '$t'" >&2
        usage >&2
        exit 2
        ;;
    esac
done

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "error: cargo-fuzz is not installed" >&2
    echo "hint: cargo install cargo-fuzz --locked" >&2
    exit 2
fi

export RUSTC_BOOTSTRAP=1
# glibc's thread-local destructor records are not leaks (fuzz/lsan.supp says why).
export LSAN_OPTIONS="suppressions=$root/fuzz/lsan.supp:print_suppressions=0${LSAN_OPTIONS:+:$LSAN_OPTIONS}"
sanitizer=${FUZZ_SANITIZER:-address}
mkdir -p fuzz/logs
summary=fuzz/logs/summary.txt
status=0

for t in "${targets[@]}"; do
    features=()
    case "$t" in
    system_model_xml | scenario_toml) features=(--features sim) ;;
    esac
    extra=()
    case "$t" in
    manifest_xml | system_model_xml) extra=("-dict=$root/fuzz/dict/xml.dict") ;;
    # verify hashes on a scoped thread; libFuzzer's leak check after each input races
    # with that thread's thread-local destructors (false leaks, docs/FUZZING.md).
    package_verify) extra=(-detect_leaks=0) ;;
    esac

    mkdir -p "fuzz/corpus/$t" "fuzz/artifacts/$t"
    if [ -d "fuzz/seeds/$t" ]; then
        cp -n "fuzz/seeds/$t"/* "fuzz/corpus/$t/" 2>/dev/null || true
    fi

    log="fuzz/logs/$t.log"
    before=$(find "fuzz/artifacts/$t" -type f | wc -l)
    # Build first (the first build takes minutes) so that the start time is the fuzzing's.
    echo "== $t: building (sanitizer $sanitizer)" >&2
    if ! (cd fuzz && nice -n 19 cargo fuzz build "$t" --sanitizer "$sanitizer" "${features[@]}") \
        >"$log" 2>&1; then
        echo "$(date -u +%Y-%m-%dT%H:%M:%SZ) $t build failed: see $log" | tee -a "$summary"
        status=2
        continue
    fi
    started=$(date -u +%Y-%m-%dT%H:%M:%SZ)
    t0=$(date +%s)
    echo "== $t: ${seconds}s from $started" >&2

    # -jobs=1 -workers=1: one fuzzing process (libFuzzer then writes its output to
    # fuzz-0.log in the working directory and prints it when the job ends).
    rc=0
    (
        cd fuzz
        rm -f fuzz-0.log
        # shellcheck disable=SC2086
        nice -n 19 cargo fuzz run "$t" --sanitizer "$sanitizer" "${features[@]}" \
            "corpus/$t" -- \
            -max_total_time="$seconds" -jobs=1 -workers=1 -rss_limit_mb=2048 \
            -timeout=10 -print_final_stats=1 "${extra[@]}" ${FUZZ_ARGS:-}
    ) >>"$log" 2>&1 || rc=$?
    rm -f fuzz/fuzz-0.log
    # libFuzzer's own count of seconds spent fuzzing; wall time if it stopped early.
    ran=$(grep -o 'Done [0-9]* runs in [0-9]* second' "$log" | tail -1 | grep -o 'in [0-9]*' | grep -o '[0-9]*' || true)
    [ -n "$ran" ] || ran=$(($(date +%s) - t0))

    execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | tail -1 | grep -o '[0-9]*$' || true)
    last=$(grep -E '^#[0-9]+' "$log" | tail -1 || true)
    cov=$(echo "$last" | grep -o 'cov: [0-9]*' | grep -o '[0-9]*' || true)
    ft=$(echo "$last" | grep -o 'ft: [0-9]*' | grep -o '[0-9]*' || true)
    corpus=$(find "fuzz/corpus/$t" -type f | wc -l)
    after=$(find "fuzz/artifacts/$t" -type f | wc -l)
    found=$((after - before))
    result=clean
    if [ "$found" -gt 0 ] || grep -qE '==[0-9]+==ERROR|ERROR: libFuzzer|SUMMARY: libFuzzer' "$log"; then
        result="FOUND: $found new artifact(s) in fuzz/artifacts/$t, see $log"
        status=1
    elif [ "$rc" -ne 0 ]; then
        result="run failed (exit $rc): see $log"
        status=2
    fi
    line="$started $t ran=${ran}s of ${seconds}s sanitizer=$sanitizer execs=${execs:-?} cov=${cov:-?} ft=${ft:-?} corpus=$corpus result=$result"
    echo "$line" | tee -a "$summary"
done
exit "$status"
