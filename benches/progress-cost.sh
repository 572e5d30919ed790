#!/usr/bin/env bash
# What progress reporting costs verify and extract: one binary built without it (BEFORE)
# and one with it (AFTER), run alternately on the same package in one session, so load
# changes hit both alike. AFTER runs three ways: stderr into a pipe (no reporter at all),
# on a terminal (script(1) pseudo-terminal: the bar is drawn at its default rate), and
# with -v into a pipe (one line per file). Prints the median wall time of each.
#   benches/progress-cost.sh BEFORE AFTER PACKAGE TRUSTED.pub [ROUNDS]
set -euo pipefail
before="$1" after="$2" pkg="$3" pub="$4" rounds="${5:-5}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
python3 - "$before" "$after" "$pkg" "$pub" "$rounds" "$work" <<'EOF'
import os, shutil, statistics, subprocess, sys, time
before, after, pkg, pub, rounds, work = sys.argv[1:]
env = dict(os.environ, SHELL="/bin/sh", TERM="xterm-256color")
env.pop("HOTFIX_PROGRESS_REFRESH_MS", None)

def q(s):
    return "'" + s.replace("'", "'\\''") + "'"

def run(argv, tty=False, verbose=False):
    if verbose:
        argv = argv + ["-v"]
    if tty:
        cmd = ["script", "-q", "-e", "-f", "-c", " ".join(map(q, argv)) + " >/dev/null", "/dev/null"]
    else:
        cmd = argv
    t = time.perf_counter()
    r = subprocess.run(cmd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                       stderr=subprocess.PIPE if not tty else subprocess.DEVNULL)
    dt = time.perf_counter() - t
    if r.returncode != 0:
        sys.exit(f"failed ({r.returncode}): {argv}")
    return dt

def verify(binary):
    return [binary, "verify", pkg, "--trusted", pub]

def extract(binary):
    install = os.path.join(work, "install")
    shutil.rmtree(install, ignore_errors=True)
    os.makedirs(install)
    return [binary, "extract", pkg, "--install-dir", install, "--trusted", pub]

variants = [
    ("before", lambda w: run(w(before))),
    ("after, stderr a pipe", lambda w: run(w(after))),
    ("after, bar on a terminal", lambda w: run(w(after), tty=True)),
    ("after, -v into a pipe", lambda w: run(w(after), verbose=True)),
]
print(f"package {os.path.getsize(pkg)} bytes; {os.cpu_count()} cores; "
      f"load {os.getloadavg()[0]:.2f}; {rounds} rounds, alternating")
for name, work_fn in (("verify", verify), ("extract", extract)):
    times = {v: [] for v, _ in variants}
    run(work_fn(after))  # warm the page cache
    for _ in range(int(rounds)):
        for v, f in variants:
            times[v].append(f(work_fn))
    base = statistics.median(times["before"])
    for v, _ in variants:
        m = statistics.median(times[v])
        print(f"{name:8} {v:26} median {m:7.3f} s  ({(m / base - 1) * 100:+5.1f} %)  "
              f"runs {' '.join(f'{t:.3f}' for t in times[v])}")
print(f"load at the end {os.getloadavg()[0]:.2f}")
EOF
