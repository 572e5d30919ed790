#!/usr/bin/env bash
# Side-by-side comparison of hotfix build/verify/extract with Info-ZIP zip/unzip and
# openssl on the same deterministic corpus, in the same run. Installs the reference
# tools when missing, builds hotfix in release mode, then runs benches/compare.py.
#
#   benches/compare.sh                 # full corpus (512 MiB mixed + 20,000 small files)
#   benches/compare.sh --quick         # tiny corpus: a smoke run (seconds)
#   benches/compare.sh --help          # all options
set -euo pipefail
cd "$(dirname "$0")/.."
need=()
command -v zip >/dev/null 2>&1 || need+=(zip)
command -v unzip >/dev/null 2>&1 || need+=(unzip)
command -v openssl >/dev/null 2>&1 || need+=(openssl)
[ -x /usr/bin/time ] || need+=(time)
if [ "${#need[@]}" -gt 0 ]; then
  echo "compare: installing ${need[*]}" >&2
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi
cargo build --release --locked --quiet
exec python3 benches/compare.py --hotfix target/release/hotfix "$@"
