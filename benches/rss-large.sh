#!/usr/bin/env bash
# Peak memory of verify and extract on a large package (default 1 GiB of incompressible
# payload), beside openssl over the same file, in one run. Memory must not grow with
# package size (DESIGN.md: <= 32 MiB RSS at any size).
#   benches/rss-large.sh [SIZE_MIB] [WORKDIR]
set -euo pipefail
cd "$(dirname "$0")/.."
size_mib="${1:-1024}"
work="${2:-bench-work/rss-large}"
[ -x /usr/bin/time ] || { apt-get update -qq && apt-get install -y -qq time >/dev/null; }
cargo build --release --locked --quiet
H="$PWD/target/release/hotfix"
rm -rf "$work" && mkdir -p "$work/src/server/ChatServer/lib" "$work/install" && cd "$work"
chunks=$(( (size_mib + 63) / 64 ))
for i in $(seq 0 $((chunks - 1))); do
  # openssl reads /dev/zero forever and dies of SIGPIPE when head has its bytes: expected,
  # so this pipeline's status is head's alone.
  (set +o pipefail
   openssl enc -aes-128-ctr -K 00112233445566778899aabbccddeeff -iv "$(printf '%032x' "$i")" \
     -nosalt -in /dev/zero 2>/dev/null | head -c 67108864 > "src/server/ChatServer/lib/blob$i.bin")
done
printf 'id = "HF-LARGE-1"\nversion = 1\ntitle = "large"\nrelease = "7.0"\nsupport-package = "SP3"\n\n[[software-package]]\nname = "ChatServer"\nversion = "7.0.3.12"\ndir = "server/ChatServer"\n' > src/hotfix.toml
"$H" keygen --output k --no-passphrase >/dev/null 2>&1
SOURCE_DATE_EPOCH=1 "$H" build src --key k.key --output HF-LARGE-1.zip >/dev/null 2>&1
echo "package: $(stat -c %s HF-LARGE-1.zip) bytes; $(nproc) cores; load: $(cut -d' ' -f1-3 /proc/loadavg)"
/usr/bin/time -f "hotfix verify:  %e s, peak RSS %M KiB" "$H" verify HF-LARGE-1.zip --trusted k.pub >/dev/null
/usr/bin/time -f "openssl dgst:   %e s, peak RSS %M KiB" openssl dgst -sha256 HF-LARGE-1.zip >/dev/null
/usr/bin/time -f "hotfix extract: %e s, peak RSS %M KiB" "$H" extract HF-LARGE-1.zip --install-dir install --trusted k.pub >/dev/null
