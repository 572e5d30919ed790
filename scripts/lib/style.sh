# Sourced by the scripts for their step titles on stderr: bold only when stderr is a
# terminal and NO_COLOR is unset or empty (https://no-color.org); plain text into a pipe
# or a log file (`./scripts/demo > log 2>&1`), so no escape code ever lands there.
# shellcheck shell=bash
if [ -t 2 ] && [ -z "${NO_COLOR:-}" ]; then
  step() { printf '\n\033[1m== %s\033[0m\n' "$*" >&2; }
else
  step() { printf '\n== %s\n' "$*" >&2; }
fi
