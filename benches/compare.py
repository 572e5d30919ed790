#!/usr/bin/env python3
"""Times hotfix build/verify/extract beside Info-ZIP zip/unzip and openssl on one corpus.

Every figure printed comes from this run: each command runs --runs times (after one
warm-up) under /usr/bin/time, and the table shows medians, ratios and peak RSS.
The corpus is deterministic: incompressible bytes come from AES-128-CTR keystream
(openssl) with a fixed key, text from a seeded generator, sizes from a seeded PRNG.
"""

import argparse
import hashlib
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

MIB = 1024 * 1024
EPOCH = "1764028800"


class RandomStream:
    """Reads a long AES-CTR keystream from one openssl process."""

    def __init__(self, key_hex: str):
        self.proc = subprocess.Popen(
            ["openssl", "enc", "-aes-128-ctr", "-K", key_hex, "-iv", "0" * 32, "-nosalt", "-in", "/dev/zero"],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
        )

    def read(self, n: int) -> bytes:
        data = self.proc.stdout.read(n)
        assert len(data) == n
        return data

    def close(self):
        self.proc.kill()
        self.proc.wait()


WORDS = ("chat routing queue agent session failover instance node virtual unit package "
         "hotfix apply synchronize monitoring deployment base support release message "
         "contact center workstation component version error warning info debug").split()


def text_bytes(rng: random.Random, n: int) -> bytes:
    lines = []
    size = 0
    while size < n:
        line = "%05d %s %s\n" % (rng.randrange(100000), rng.choice(("INFO", "WARN", "DEBUG")),
                                  " ".join(rng.choice(WORDS) for _ in range(rng.randrange(4, 14))))
        lines.append(line)
        size += len(line)
    return "".join(lines).encode()[:n]


def write_spec(root: Path, packages: list[str], hid: str):
    spec = [
        f'id = "{hid}"', "version = 1", f'title = "Benchmark corpus {hid}"',
        'release = "7.0"', 'support-package = "SP3"', "",
    ]
    # A small corpus may not reach every package: list only those with files.
    for p in (p for p in packages if (root / "server" / p).is_dir()):
        spec += ["[[software-package]]", f'name = "{p}"', 'version = "7.0.3.1"', f'dir = "server/{p}"', ""]
    (root / "hotfix.toml").write_text("\n".join(spec))


def make_mixed(root: Path, size_mib: int, text_mib: int):
    """size_mib of incompressible data in files of mixed sizes, plus text_mib of text."""
    rng = random.Random(42)
    rs = RandomStream("000102030405060708090a0b0c0d0e0f")
    pkgs = ["ChatServer", "RoutingEngine", "MediaGateway", "ReportingService"]
    budget = size_mib * MIB
    i = 0
    while budget > 0:
        # A mix: many small, some medium, a few large files.
        kind = rng.random()
        n = rng.randrange(4 * 1024, 256 * 1024) if kind < 0.6 else (
            rng.randrange(256 * 1024, 8 * MIB) if kind < 0.95 else rng.randrange(8 * MIB, 48 * MIB))
        n = min(n, budget)
        p = pkgs[i % len(pkgs)]
        d = root / "server" / p / ("lib%02d" % (i % 17))
        d.mkdir(parents=True, exist_ok=True)
        (d / ("blob%05d.bin" % i)).write_bytes(rs.read(n))
        budget -= n
        i += 1
    rs.close()
    tb = text_mib * MIB
    j = 0
    while tb > 0:
        n = min(rng.randrange(16 * 1024, 1024 * 1024), tb)
        d = root / "server" / pkgs[j % len(pkgs)] / "conf"
        d.mkdir(parents=True, exist_ok=True)
        (d / ("settings%04d.log" % j)).write_bytes(text_bytes(rng, n))
        tb -= n
        j += 1
    write_spec(root, pkgs, "BENCH-MIXED")


def make_small(root: Path, count: int):
    """count files of 1-64 KiB: half text, half incompressible."""
    rng = random.Random(7)
    rs = RandomStream("0f0e0d0c0b0a09080706050403020100")
    pkgs = ["ChatServer", "RoutingEngine"]
    for i in range(count):
        n = rng.randrange(1024, 64 * 1024 + 1)
        d = root / "server" / pkgs[i % 2] / ("d%03d" % (i % 200))
        d.mkdir(parents=True, exist_ok=True)
        data = rs.read(n) if i % 2 else text_bytes(rng, n)
        (d / ("f%05d.dat" % i)).write_bytes(data)
    rs.close()
    write_spec(root, pkgs, "BENCH-SMALL")


def timed(cmd, cwd=None, env=None):
    """Runs cmd under /usr/bin/time; returns (wall seconds, peak RSS KiB)."""
    full = ["/usr/bin/time", "-f", "%e %M", "-o", "/dev/stderr"] + [str(c) for c in cmd]
    t0 = time.perf_counter()
    p = subprocess.run(full, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    wall = time.perf_counter() - t0
    if p.returncode != 0:
        sys.exit(f"compare: command failed ({p.returncode}): {' '.join(map(str, cmd))}\n{p.stderr}")
    last = p.stderr.strip().splitlines()[-1].split()
    return wall, int(last[1])


def bench(label, cmd, runs, before=None, cwd=None, env=None):
    """One warm-up, then `runs` timed runs; `before` runs untimed before each."""
    samples, rss = [], []
    for r in range(runs + 1):
        if before:
            before()
        w, m = timed(cmd, cwd=cwd, env=env)
        if r > 0:
            samples.append(w)
            rss.append(m)
    return {"label": label, "median_s": statistics.median(samples), "runs": samples, "peak_rss_kib": max(rss)}


def sha256_file(p: Path) -> str:
    h = hashlib.sha256()
    with open(p, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def run_corpus(name, src: Path, work: Path, hotfix: Path, runs: int):
    out = work / ("out-" + name.replace(" ", "-"))
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    key = work / "bench"
    env = dict(os.environ, SOURCE_DATE_EPOCH=EPOCH, NO_COLOR="1")
    pkg = out / "pkg.zip"
    ref_zip = out / "ref.zip"
    install = out / "install"
    unz = out / "unzipped"

    def rm(*paths):
        def f():
            for p in paths:
                if p.is_dir():
                    shutil.rmtree(p)
                elif p.exists():
                    p.unlink()
        return f

    rows = []
    b = bench("hotfix build", [hotfix, "build", src, "--key", f"{key}.key", "--output", pkg], runs, before=rm(pkg), env=env)
    first = sha256_file(pkg)
    z = bench("zip -r", ["zip", "-q", "-r", "-X", ref_zip, "server"], runs, before=rm(ref_zip), cwd=src)
    rows.append(("build", b, z, "zip -r", "ratio ≥ 5×", z["median_s"] / b["median_s"] >= 5.0))
    rm(pkg)()
    subprocess.run([hotfix, "build", src, "--key", f"{key}.key", "--output", pkg], env=env, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    reproducible = sha256_file(pkg) == first

    v = bench("hotfix verify", [hotfix, "verify", pkg, "--trusted", f"{key}.pub"], runs)
    o = bench("openssl dgst -sha256", ["openssl", "dgst", "-sha256", pkg], runs)
    t = bench("unzip -t", ["unzip", "-tqq", pkg], runs)
    rows.append(("verify", v, o, "openssl dgst -sha256", "throughput ≥ 0.9×", o["median_s"] / v["median_s"] >= 0.9))
    rows.append(("verify", v, t, "unzip -t", "(info)", None))
    # The payload bytes verify has to hash (decompressed, one file each), hashed by
    # openssl straight from the source tree: what hashing alone costs for this corpus.
    files = sorted(str(f.relative_to(src)) for f in (src / "server").rglob("*") if f.is_file())
    listing = out / "payload-files.txt"
    listing.write_text("\0".join(files) + "\0")
    ph = bench("openssl dgst -sha256 (payload files)",
               ["sh", "-c", f"xargs -0 openssl dgst -sha256 < '{listing}'"], runs, cwd=src)
    rows.append(("verify", v, ph, "openssl dgst -sha256 over the payload files", "(info)", None))

    def fresh_install():
        rm(install)()
        install.mkdir()

    e = bench("hotfix extract", [hotfix, "extract", pkg, "--install-dir", install, "--trusted", f"{key}.pub"], runs,
              before=fresh_install)
    u = bench("unzip", ["unzip", "-qq", pkg, "-d", unz], runs, before=rm(unz))
    rows.append(("extract", e, u, "unzip", "time ≤ 1.2×", e["median_s"] / u["median_s"] <= 1.2))
    rm(install, unz)()
    return {
        "corpus": name,
        "payload_bytes": sum(f.stat().st_size for f in (src / "server").rglob("*") if f.is_file()),
        "files": sum(1 for f in (src / "server").rglob("*") if f.is_file()),
        "package_bytes": pkg.stat().st_size,
        "reproducible": reproducible,
        "rows": rows,
    }


def fmt_table(results):
    lines = ["| corpus | work | hotfix (median s) | reference | reference (median s) | ratio ref/hotfix | target | met | hotfix peak RSS |",
             "| --- | --- | ---: | --- | ---: | ---: | --- | --- | ---: |"]
    for r in results:
        for work, h, ref, ref_name, target, met in r["rows"]:
            ratio = ref["median_s"] / h["median_s"] if h["median_s"] > 0 else float("inf")
            lines.append("| %s | %s | %.3f | %s | %.3f | %.2f× | %s | %s | %.1f MiB |" % (
                r["corpus"], work, h["median_s"], ref_name, ref["median_s"], ratio, target,
                "—" if met is None else ("yes" if met else "**no**"), h["peak_rss_kib"] / 1024))
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--hotfix", required=True, type=Path)
    ap.add_argument("--work", type=Path, default=Path("bench-work"), help="scratch folder (default ./bench-work)")
    ap.add_argument("--size-mib", type=int, default=512, help="incompressible part of the mixed corpus")
    ap.add_argument("--text-mib", type=int, default=10)
    ap.add_argument("--small-files", type=int, default=20000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--quick", action="store_true", help="tiny corpus, one run: a smoke test")
    ap.add_argument("--json", type=Path, help="also write the results as JSON here")
    a = ap.parse_args()
    if a.quick:
        a.size_mib, a.text_mib, a.small_files, a.runs = 8, 1, 300, 1
    load_at_start = f"{os.getloadavg()[0]:.2f}"
    hotfix = a.hotfix.resolve()
    work = a.work.resolve()
    work.mkdir(parents=True, exist_ok=True)
    key = work / "bench"
    for ext in (".key", ".pub"):
        (work / ("bench" + ext)).unlink(missing_ok=True)
    subprocess.run([hotfix, "keygen", "--output", key, "--no-passphrase"], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    corpora = []
    mixed = work / f"corpus-mixed-{a.size_mib}m-{a.text_mib}m"
    if not (mixed / "hotfix.toml").exists():
        shutil.rmtree(mixed, ignore_errors=True)
        print(f"compare: generating {mixed.name}", file=sys.stderr)
        make_mixed(mixed, a.size_mib, a.text_mib)
    corpora.append(("mixed %d MiB" % (a.size_mib + a.text_mib), mixed))
    small = work / f"corpus-small-{a.small_files}"
    if not (small / "hotfix.toml").exists():
        shutil.rmtree(small, ignore_errors=True)
        print(f"compare: generating {small.name}", file=sys.stderr)
        make_small(small, a.small_files)
    corpora.append(("%d small files" % a.small_files, small))

    results = []
    for name, src in corpora:
        print(f"compare: timing {name} ({a.runs} runs + warm-up each)", file=sys.stderr)
        results.append(run_corpus(name, src, work, hotfix, a.runs))

    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
    print(f"machine: {os.cpu_count()} cores, {cpu}; runs per figure: {a.runs} (median), warm page cache")
    print(f"load average at start: {load_at_start}; at end: {os.getloadavg()[0]:.2f}")
    for r in results:
        print(f"corpus {r['corpus']}: {r['files']} files, {r['payload_bytes'] / MIB:.1f} MiB payload, "
              f"package {r['package_bytes'] / MIB:.1f} MiB, reproducible build: {'yes' if r['reproducible'] else 'NO'}")
    print()
    print(fmt_table(results))
    if a.json:
        a.json.write_text(json.dumps(results, indent=2, default=str))
    if not all(r["reproducible"] for r in results):
        sys.exit("compare: a rebuild was not byte-identical")


if __name__ == "__main__":
    main()
