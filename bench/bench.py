#!/usr/bin/env python3
"""Side-by-side benchmark of Lifeboat, restic and borg on the same data in the same run.

For each corpus and tool: first backup, backup with nothing changed, backup after changing 1 %
of the files and adding 50 MB, full restore, full read-data check. Each operation reports wall
time, user+sys CPU seconds and peak RSS (GNU time); the repository size is measured after the
first backup. Tools run interleaved and rotated (A B C, B C A, C A B), each run starting from
a freshly read corpus, and the median of the runs is reported,
with the ratio Lifeboat/peer per pair so machine noise largely cancels.

Settings: Lifeboat defaults (compression auto: zstd 3 after a probe, 16 MiB packs, scrypt); restic repository v2 with
`--compression auto`; borg `--encryption repokey` with `--compression zstd,3`.

  bench/run.sh                   full run (corpora bin, src, mix; 3 runs; writes docs/BENCHMARKS.md)
  bench/run.sh --smoke           tiny generated corpus, Lifeboat only, one run (CI)
  bench/run.sh --corpus src --runs 5 --tools lifeboat,restic
"""
import argparse, json, os, random, shutil, statistics, subprocess, sys, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PASSWORD = "benchmark-password-not-secret"
OPS = ["backup", "backup-nochange", "backup-changed", "restore", "restore-durable", "check-read-data"]

def log(*a):
    print(*a, file=sys.stderr, flush=True)

def sh(cmd, env=None, cwd=None, check=True, quiet=True):
    r = subprocess.run(cmd, env=env, cwd=cwd, stdout=subprocess.PIPE if quiet else None,
                       stderr=subprocess.PIPE if quiet else None)
    if check and r.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} exited {r.returncode}: "
                           f"{(r.stderr or b'').decode(errors='replace')[-2000:]}")
    return r

def timed(cmd, env, cwd=None):
    """Runs cmd under GNU time; returns (wall, cpu, rss_kib, exit). Dirty pages left by the
    previous operation (a restore writes gigabytes) are flushed first, untimed: otherwise the
    next tool pays for the previous one's writeback, and a tool that fsyncs pays the most."""
    subprocess.run(["sync"])
    out = os.path.join(WORK, "time.out")
    t0 = time.monotonic()
    r = subprocess.run(["/usr/bin/time", "-f", "%e %U %S %M", "-o", out] + cmd, env=env, cwd=cwd,
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    wall = time.monotonic() - t0
    fields = open(out).read().strip().splitlines()[-1].split()
    _, user, sys_, rss = float(fields[0]), float(fields[1]), float(fields[2]), int(fields[3])
    if r.returncode not in (0, 3):
        raise RuntimeError(f"{' '.join(cmd)} exited {r.returncode}: {r.stderr.decode(errors='replace')[-2000:]}")
    return {"wall": round(wall, 3), "cpu": round(user + sys_, 3), "rss_kib": rss}

def du(path):
    total = 0
    for dp, _, files in os.walk(path):
        for f in files:
            try:
                total += os.lstat(os.path.join(dp, f)).st_size
            except OSError:
                pass
    return total

# ---------- corpora ----------

def rng_bytes(rng, n):
    return rng.randbytes(n)

def text_bytes(rng, n):
    words = [b"backup", b"restore", b"district", b"student", b"invoice", b"clinic", b"\n", b" ",
             b"2026", b"record", b"lifeboat", b"policy"]
    out = bytearray()
    while len(out) < n:
        out += rng.choice(words)
        if rng.random() < 0.1:
            out += str(rng.randrange(1 << 30)).encode()
    return bytes(out[:n])

def make_mix(dest, total, seed):
    """A generated mix with known duplication: unique random and text files, exact copies,
    copies shifted by a few bytes, appended logs and a growing database-dump-like file."""
    rng = random.Random(seed)
    os.makedirs(dest, exist_ok=True)
    written = 0
    originals = []
    i = 0
    biggest = max(64 << 10, min(4 << 20, total // 200))
    while written < total:
        d = os.path.join(dest, f"d{i % 37}", f"e{i % 11}")
        os.makedirs(d, exist_ok=True)
        kind = rng.random()
        path = os.path.join(d, f"f{i}")
        if kind < 0.35 or not originals:
            data = rng_bytes(rng, rng.randrange(1, biggest))            # incompressible
        elif kind < 0.65:
            data = text_bytes(rng, rng.randrange(1, biggest))           # compressible
        elif kind < 0.80:
            data = open(rng.choice(originals), "rb").read()             # exact copy
        elif kind < 0.92:
            data = rng_bytes(rng, rng.randrange(1, 64)) + open(rng.choice(originals), "rb").read()  # shifted
        else:
            base = open(rng.choice(originals), "rb").read()             # appended log
            data = base + text_bytes(rng, rng.randrange(1, max(2, biggest // 8)))
        with open(path, "wb") as f:
            f.write(data)
        if kind < 0.65:
            originals.append(path)
        written += len(data)
        i += 1
    # A database-dump-like file: tables of rows, later grown in place by mutate().
    with open(os.path.join(dest, "database.dump"), "wb") as f:
        for t in range(max(2, total // (50 << 20))):
            f.write(b"COPY table_%d FROM stdin;\n" % t + text_bytes(rng, 1 << 20) + b"\\.\n")

def make_tiny(dest, seed):
    make_mix(dest, 20 << 20, seed)

def copy_tree(sources, dest):
    os.makedirs(dest, exist_ok=True)
    for s in sources:
        if os.path.exists(s):
            target = os.path.join(dest, s.strip("/").replace("/", "_"))
            sh(["cp", "-a", s, target])

def corpus_spec(name):
    return {
        "tiny": ("generated 20 MB mix (smoke test)", lambda d: make_tiny(d, 1)),
        "bin": ("real binaries: /opt/swift/usr/bin (~1.5 GB, large files)",
                lambda d: copy_tree(["/opt/swift/usr/bin"], d)),
        "src": ("many small files: /usr/share, /usr/include, /usr/lib/python3* (~0.9 GB)",
                lambda d: copy_tree(["/usr/share", "/usr/include", "/usr/lib/python3", "/usr/lib/python3.11"], d)),
        "mix": ("generated 2 GB mix with known duplication (seed 42)", lambda d: make_mix(d, 2 << 30, 42)),
    }[name]

def mutate(corpus, seed):
    """Changes 1 % of the files (overwrites 4 KiB in place) and adds 50 MB. Returns an undo list."""
    rng = random.Random(seed)
    files = []
    for dp, _, fs in os.walk(corpus):
        for f in fs:
            p = os.path.join(dp, f)
            if os.path.isfile(p) and not os.path.islink(p) and os.path.getsize(p) > 0:
                files.append(p)
    files.sort()
    chosen = rng.sample(files, max(1, len(files) // 100))
    undo = []
    for p in chosen:
        with open(p, "r+b") as f:
            size = os.path.getsize(p)
            off = rng.randrange(0, size)
            f.seek(off)
            old = f.read(4096)
            f.seek(off)
            f.write(rng_bytes(rng, len(old)))
        undo.append((p, off, old))
    added = os.path.join(corpus, "added-50MB.bin")
    with open(added, "wb") as f:
        f.write(rng_bytes(rng, 25 << 20) + text_bytes(rng, 25 << 20))
    return undo, added

def unmutate(undo, added):
    for p, off, old in undo:
        with open(p, "r+b") as f:
            f.seek(off)
            f.write(old)
    os.remove(added)

# ---------- tools ----------

class Tool:
    def __init__(self, name, work, binary=None):
        self.name, self.repo = name, os.path.join(work, f"repo-{name}")
        self.binary = binary
        self.env = dict(os.environ)

    def reset(self):
        shutil.rmtree(self.repo, ignore_errors=True)

class Lifeboat(Tool):
    def __init__(self, work, binary):
        super().__init__("lifeboat", work, binary)
        self.env.update(LIFEBOAT_REPOSITORY=self.repo, LIFEBOAT_PASSWORD=PASSWORD)
    def version(self): return sh([self.binary, "--version"]).stdout.decode().strip()
    def init(self): sh([self.binary, "init", "-q"], env=self.env)
    def backup(self, path): return [self.binary, "backup", "-q", path]
    def restore(self, target): return [self.binary, "restore", "-q", "latest", "--target", target]
    def check(self): return [self.binary, "check", "-q", "--read-data"]

class Restic(Tool):
    def __init__(self, work):
        super().__init__("restic", work, shutil.which("restic"))
        self.env.update(RESTIC_REPOSITORY=self.repo, RESTIC_PASSWORD=PASSWORD, RESTIC_CACHE_DIR=os.path.join(work, "restic-cache"))
    def version(self): return sh(["restic", "version"]).stdout.decode().split(" compiled")[0]
    def init(self):
        shutil.rmtree(self.env["RESTIC_CACHE_DIR"], ignore_errors=True)
        sh(["restic", "init", "--repository-version", "2"], env=self.env)
    def backup(self, path): return ["restic", "backup", "-q", "--compression", "auto", path]
    def restore(self, target): return ["restic", "restore", "-q", "latest", "--target", target]
    def check(self): return ["restic", "check", "-q", "--read-data"]

class Borg(Tool):
    def __init__(self, work):
        # borg 1.4 from PyPI when bench/run.sh could build it (BENCH_BORG), else Debian's.
        super().__init__("borg", work, os.environ.get("BENCH_BORG") or shutil.which("borg"))
        self.env.update(BORG_REPO=self.repo, BORG_PASSPHRASE=PASSWORD,
                        BORG_BASE_DIR=os.path.join(work, "borg-base"),
                        BORG_UNKNOWN_UNENCRYPTED_REPO_ACCESS_IS_OK="yes",
                        BORG_RELOCATED_REPO_ACCESS_IS_OK="yes")
        self.n = 0
    def version(self): return sh([self.binary, "--version"]).stdout.decode().strip()
    def init(self):
        shutil.rmtree(self.env["BORG_BASE_DIR"], ignore_errors=True)
        sh([self.binary, "init", "--encryption", "repokey"], env=self.env)
    def backup(self, path):
        self.n += 1
        return [self.binary, "create", "--compression", "zstd,3", f"::a{self.n}-{time.time_ns()}", path]
    def restore(self, target):
        last = sh([self.binary, "list", "--short"], env=self.env).stdout.decode().split()[-1]
        self._extract_cwd = target
        return [self.binary, "extract", f"::{last}"]
    def check(self): return [self.binary, "check", "--verify-data"]

# ---------- the run ----------

def run_tool(tool, corpus, run_index, trash):
    """One run of every operation. Repositories and restore targets are not deleted here but
    collected in `trash` and removed after the corpus: on ext4, creating files right after
    deleting many others hits the allocator's recently-deleted-inode scan and would penalise
    whichever tool runs next."""
    tool.repo = os.path.join(WORK, f"repo-{tool.name}-{run_index}")
    if hasattr(tool, "env"):
        for k in ("LIFEBOAT_REPOSITORY", "RESTIC_REPOSITORY", "BORG_REPO"):
            if k in tool.env:
                tool.env[k] = tool.repo
    tool.reset()
    tool.init()
    trash.append(tool.repo)
    res = {}
    res["backup"] = timed(tool.backup(corpus), tool.env)
    res["repo_bytes"] = du(tool.repo)
    res["backup-nochange"] = timed(tool.backup(corpus), tool.env)
    undo, added = mutate(corpus, 1000 + run_index)
    try:
        res["backup-changed"] = timed(tool.backup(corpus), tool.env)
    finally:
        unmutate(undo, added)
    target = os.path.join(WORK, f"restore-{tool.name}-{run_index}")
    shutil.rmtree(target, ignore_errors=True)
    os.makedirs(target)
    trash.append(target)
    res["restore"] = timed(tool.restore(target), tool.env, cwd=target)
    # What the restore left in the page cache is not on the disk yet: Lifeboat writes large
    # files past the cache (O_DIRECT), restic and borg leave all of it to the kernel's
    # writeback. "restore-durable" adds the sync that finishes the job (same CPU and RSS).
    t0 = time.monotonic()
    subprocess.run(["sync"])
    res["restore-durable"] = dict(res["restore"], wall=round(res["restore"]["wall"] + time.monotonic() - t0, 3))
    res["check-read-data"] = timed(tool.check(), tool.env)
    return res

def median(results, op, key):
    vals = [r[op][key] for r in results]
    return statistics.median(vals)

def main():
    global WORK
    ap = argparse.ArgumentParser()
    ap.add_argument("--smoke", action="store_true")
    ap.add_argument("--corpus", action="append")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--tools", default="lifeboat,restic,borg")
    ap.add_argument("--bin", default=os.path.join(ROOT, ".build/release/lifeboat"))
    ap.add_argument("--work", default=os.environ.get("BENCH_DIR", "/tmp/lifeboat-bench"))
    ap.add_argument("--out", default=os.path.join(ROOT, "bench/results/latest.json"))
    ap.add_argument("--markdown", default=os.path.join(ROOT, "docs/BENCHMARKS.md"))
    ap.add_argument("--render", metavar="JSON",
                    help="only rewrite the markdown from a result file of an earlier run")
    a = ap.parse_args()
    if a.render:
        report = json.load(open(a.render))
        write_doc(a.markdown, markdown(report), report)
        return
    if a.smoke:
        a.corpus, a.runs, a.tools = ["tiny"], 1, "lifeboat"
        a.bin = os.path.join(ROOT, ".build/debug/lifeboat") if not os.path.exists(a.bin) else a.bin
        a.out = os.path.join(a.work, "smoke.json")
        a.markdown = None
    corpora = a.corpus or ["bin", "src", "mix"]
    WORK = a.work
    a.bin = os.path.abspath(a.bin)
    os.makedirs(WORK, exist_ok=True)
    tools = []
    for t in a.tools.split(","):
        if t == "lifeboat": tools.append(Lifeboat(WORK, a.bin))
        elif t == "restic" and shutil.which("restic"): tools.append(Restic(WORK))
        elif t == "borg" and (os.environ.get("BENCH_BORG") or shutil.which("borg")): tools.append(Borg(WORK))
        else: log(f"skipping {t}: not installed")
    report = {"date": time.strftime("%Y-%m-%d %H:%M:%S %Z"), "machine": machine(), "runs": a.runs,
              "versions": {t.name: t.version() for t in tools}, "corpora": {}}
    for name in corpora:
        desc, build = corpus_spec(name)
        path = os.path.join(WORK, "corpus", name)
        if not os.path.exists(path + ".ready"):
            log(f"building corpus {name}: {desc}")
            shutil.rmtree(path, ignore_errors=True)
            build(path)
            open(path + ".ready", "w").close()
        size, files = du(path), sum(len(f) for _, _, f in os.walk(path))
        warm(path)
        log(f"corpus {name}: {size / 1e6:.0f} MB in {files} files")
        per_tool = {t.name: [] for t in tools}
        trash = []
        for run in range(a.runs):
            # Interleaved and rotated: A B C, B C A, C A B. Whoever runs right after another
            # tool's restore finds the page cache full of that restore and part of the corpus
            # evicted; rotating spreads that over the tools instead of always charging the
            # first one, and each tool starts with the corpus read once more.
            for t in tools[run % len(tools):] + tools[:run % len(tools)]:
                log(f"  run {run + 1}/{a.runs}: {t.name}")
                warm(path)
                r = run_tool(t, path, run, trash)
                per_tool[t.name].append(r)
                log("    " + ", ".join(f"{op} {r[op]['wall']:.2f}s" for op in OPS))
        for d in trash:
            shutil.rmtree(d, ignore_errors=True)
        if not a.smoke:
            sh(["sync"])
            # Let ext4 forget the deleted inodes before the next corpus: without a journal its
            # allocator skips, one by one, free inodes deleted less than 60 s ago whose inode
            # table block is clean (RECENTCY_MIN in fs/ext4/ialloc.c; 360 s if dirty, hence
            # the sync). 35 s was too short for that.
            time.sleep(65)
        report["corpora"][name] = {"description": desc, "bytes": size, "files": files,
                                   "results": per_tool}
    os.makedirs(os.path.dirname(a.out), exist_ok=True)
    with open(a.out, "w") as f:
        json.dump(report, f, indent=1)
    table = markdown(report)
    print(table)
    if a.markdown:
        write_doc(a.markdown, table, report)
    if a.smoke:
        r = report["corpora"]["tiny"]["results"]["lifeboat"][0]
        assert all(r[op]["wall"] > 0 for op in OPS) and r["repo_bytes"] > 0
        print("bench smoke: 1 passed, 0 failed")

def warm(path):
    for dp, _, fs in os.walk(path):
        for f in fs:
            p = os.path.join(dp, f)
            if os.path.isfile(p) and not os.path.islink(p):
                try:
                    with open(p, "rb") as fh:
                        while fh.read(1 << 20):
                            pass
                except OSError:
                    pass

def machine():
    cpu = "unknown"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip(); break
    except OSError:
        pass
    return {"cpu": cpu, "cores": os.cpu_count(), "mem_gib": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30)}

def markdown(report):
    lines = []
    for name, c in report["corpora"].items():
        res = c["results"]
        lines.append(f"### {name}: {c['description']} — {c['bytes'] / 1e6:.0f} MB, {c['files']} files\n")
        tools = list(res)
        head = "| operation | " + " | ".join(f"{t} wall s | {t} CPU s | {t} RSS MiB" for t in tools)
        peers = [t for t in tools if t != "lifeboat"]
        head += "".join(f" | lifeboat/{p} time" for p in peers) + " |"
        lines.append(head)
        lines.append("|" + "---|" * (1 + 3 * len(tools) + len(peers)))
        ops = [op for op in OPS if op in res["lifeboat"][0]]   # older result files lack some
        for op in ops:
            row = f"| {op} | " + " | ".join(
                f"{median(res[t], op, 'wall'):.2f} | {median(res[t], op, 'cpu'):.2f} | {median(res[t], op, 'rss_kib') / 1024:.0f}"
                for t in tools)
            for p in peers:
                lb, pv = median(res["lifeboat"], op, "wall"), median(res[p], op, "wall")
                row += f" | {lb / pv:.2f} ({pv / lb:.1f}× faster)" if lb > 0 else " | –"
            lines.append(row + " |")
        sizes = " · ".join(f"{t} {statistics.median([r['repo_bytes'] for r in res[t]]) / 1e6:.0f} MB" for t in tools)
        lines.append(f"\nRepository size after the first backup: {sizes}\n")
        if len(next(iter(res.values()))) > 1:
            # The medians hide how much this machine varies between runs; show the spread.
            lines.append("Run-to-run range of wall seconds (fastest–slowest run):\n")
            lines.append("| operation | " + " | ".join(tools) + " |")
            lines.append("|" + "---|" * (1 + len(tools)))
            for op in ops:
                cells = []
                for t in tools:
                    w = [r[op]["wall"] for r in res[t]]
                    cells.append(f"{min(w):.2f}–{max(w):.2f}")
                lines.append(f"| {op} | " + " | ".join(cells) + " |")
            lines.append("")
    return "\n".join(lines)

KEEP_MARKER = "<!-- the sections below are written by other benchmarks; bench.py keeps them -->"


def write_doc(path, table, report):
    m = report["machine"]
    kept = ""
    if os.path.exists(path):
        old = open(path).read()
        if KEEP_MARKER in old:
            kept = "\n" + old[old.index(KEEP_MARKER):]
    with open(path, "w") as f:
        f.write(f"""# Benchmarks

Lifeboat against restic and borg, same data, same machine, same run. Generated by
`make bench` (`bench/bench.py`) on {report['date']}; raw figures in `bench/results/latest.json`.

Machine: {m['cpu']}, {m['cores']} cores, {m['mem_gib']} GiB. Versions: {', '.join(report['versions'].values())}.
Median of {report['runs']} interleaved runs, the order rotated each run; page cache warm (the
corpus is read again before each tool's run); wall seconds, CPU seconds (user + system) and peak RSS per operation. A ratio below
1 means Lifeboat took less time.

Settings: Lifeboat defaults (compression auto — zstd level 3 after a probe — and 16 MiB packs); restic repository version 2 with
`--compression auto`; borg `--encryption repokey --compression zstd,3`.

Operations: first backup; a second backup with nothing changed; a backup after changing 1 % of
the files (4 KiB each, in place) and adding 50 MB; a full restore of the latest snapshot into
an empty directory; the same restore plus the `sync` that puts on the disk what it left in
the page cache (`restore-durable`: Lifeboat writes large files past the cache, restic and borg
leave all of it to the kernel; CPU and RSS are the restore's); a check that reads and verifies
all data (`check --read-data`, `restic check --read-data`, `borg check --verify-data`).

{table}

## Rerun

```sh
make bench                                       # everything (about an hour on 2 cores)
bench/run.sh --corpus src --runs 5 --tools lifeboat,restic
bench/run.sh --smoke                             # the CI smoke run
python3 bench/bench.py --render bench/results/latest.json   # rewrite this file from the raw figures
```
""")
        f.write(kept)

if __name__ == "__main__":
    main()
