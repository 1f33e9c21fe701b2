#!/usr/bin/env python3
"""Bounded load test of the Lifeboat server's append-only repository endpoint.

N clients (separate `lifeboat backup` processes) back up at the same time, each into its own
repository on one server, over loopback. The work is fixed: every client backs up the same
amount of seeded data, so the request count is fixed too; the run is bounded by a timeout.

Reports: clients that failed, HTTP responses by status class (from the server's /metrics),
wall time of the concurrent phase, data throughput, requests per second, the server's CPU
seconds and peak RSS. A few repositories are restored and compared byte for byte afterwards.

    python3 bench/server_load.py --bin .build/release/lifeboat            # 50 clients, 8 MB each
    python3 bench/server_load.py --bin .build/debug/lifeboat --smoke      # 5 clients, 1 MB each
"""
import argparse
import hashlib
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request


def api(base, token, method, path, body=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(base + path, data=data, method=method,
                                 headers={"Authorization": "Bearer " + token, "Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=60) as r:
        return json.loads(r.read() or b"null") if r.headers.get("Content-Type", "").startswith("application/json") else r.read().decode()


def make_client_data(root, seed, total_bytes):
    """Seeded files: half random (incompressible), half text-like; a few shared across clients."""
    rng = random.Random(seed)
    os.makedirs(root, exist_ok=True)
    written, i = 0, 0
    shared = random.Random(7).randbytes(256 * 1024)  # the same in every client: dedup within each repository only
    with open(os.path.join(root, "shared.bin"), "wb") as f:
        f.write(shared)
    written += len(shared)
    while written < total_bytes:
        size = min(rng.randint(4 * 1024, 512 * 1024), total_bytes - written)
        path = os.path.join(root, f"d{i % 8}", f"f{i}.dat")
        os.makedirs(os.path.dirname(path), exist_ok=True)
        if i % 2:
            data = rng.randbytes(size)
        else:
            words = [b"invoice", b"patient", b"student", b"ledger", b"note", b"2026", b"total"]
            data = b" ".join(rng.choice(words) for _ in range(size // 6))[:size]
        with open(path, "wb") as f:
            f.write(data)
        written += len(data)
        i += 1
    return written


def proc_stats(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    cpu = (int(fields[11]) + int(fields[12])) / ticks
    hwm = 0
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                hwm = int(line.split()[1]) * 1024
    return cpu, hwm


def metrics_by_status(text):
    counts = {}
    for line in text.splitlines():
        m = re.match(r'lifeboat_http_requests_total\{.*status="(\d+)".*\} (\d+)', line)
        if m:
            cls = m.group(1)[0] + "xx"
            counts[cls] = counts.get(cls, 0) + int(m.group(2))
    return counts


def tree_digest(root):
    h = {}
    for dirpath, _, files in os.walk(root):
        for name in files:
            p = os.path.join(dirpath, name)
            with open(p, "rb") as f:
                h[os.path.relpath(p, root)] = hashlib.sha256(f.read()).hexdigest()
    return h


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--mb", type=float, default=8.0, help="MB of data per client")
    ap.add_argument("--timeout", type=int, default=900)
    ap.add_argument("--smoke", action="store_true")
    ap.add_argument("--json", help="write the result here")
    args = ap.parse_args()
    if args.smoke:
        args.clients, args.mb, args.timeout = 5, 1.0, 300
    binary = os.path.abspath(args.bin)
    work = tempfile.mkdtemp(prefix="lifeboat-load-", dir="/var/tmp")
    server = None
    try:
        data_dir = os.path.join(work, "server")
        token_file = os.path.join(work, "admin-token")
        log = open(os.path.join(work, "server.log"), "w")
        server = subprocess.Popen([binary, "serve", "--data", data_dir, "--port", "0", "--admin-token-file", token_file,
                                   "--log-level", "warning"], stdout=subprocess.PIPE, stderr=log, text=True)
        port = None
        deadline = time.time() + 60
        while time.time() < deadline and port is None:
            line = server.stdout.readline()
            m = re.search(r"listening on http://127\.0\.0\.1:(\d+)", line)
            if m:
                port = int(m.group(1))
        if port is None:
            sys.exit("the server did not start")
        base = f"http://127.0.0.1:{port}"
        admin = open(token_file).read().strip()
        api(base, admin, "POST", "/api/v1/tenants", {"id": "load", "name": "Load test"})
        token = api(base, admin, "POST", "/api/v1/tokens", {"name": "load clients", "role": "backup", "tenant": "load"})["token"]
        with open(os.path.join(work, "client-token"), "w") as f:
            f.write(token)
        with open(os.path.join(work, "password"), "w") as f:
            f.write("load test password")
        env = dict(os.environ, LIFEBOAT_SERVER_TOKEN_FILE=os.path.join(work, "client-token"))
        total = 0
        for i in range(args.clients):
            name = f"c{i:02d}"
            api(base, admin, "POST", "/api/v1/tenants/load/repositories", {"name": name})
            total += make_client_data(os.path.join(work, "src", name), 1000 + i, int(args.mb * 1_000_000))
            r = subprocess.run([binary, "init", "-r", f"rest:{base}/load/{name}", "--password-file",
                                os.path.join(work, "password"), "--quiet"], env=env, capture_output=True, text=True)
            if r.returncode != 0:
                sys.exit(f"init {name} failed: {r.stderr}")
        before = metrics_by_status(api(base, admin, "GET", "/metrics"))
        cpu0, _ = proc_stats(server.pid)
        start = time.time()
        clients = []
        for i in range(args.clients):
            name = f"c{i:02d}"
            out = open(os.path.join(work, f"{name}.log"), "w")
            clients.append((name, out, subprocess.Popen(
                [binary, "backup", "-r", f"rest:{base}/load/{name}", "--password-file", os.path.join(work, "password"),
                 "--quiet", os.path.join(work, "src", name)], env=env, stdout=out, stderr=subprocess.STDOUT)))
        failed = []
        for name, out, p in clients:
            try:
                code = p.wait(timeout=max(1, args.timeout - (time.time() - start)))
            except subprocess.TimeoutExpired:
                p.kill()
                code = "timeout"
            out.close()
            if code != 0:
                failed.append((name, code, open(os.path.join(work, f"{name}.log")).read()[-300:]))
        wall = time.time() - start
        cpu1, hwm = proc_stats(server.pid)
        after = metrics_by_status(api(base, admin, "GET", "/metrics"))
        statuses = {k: after.get(k, 0) - before.get(k, 0) for k in sorted(set(after) | set(before))}
        requests = sum(statuses.values())
        # Integrity: restore a few repositories and compare with their source.
        checked = 0
        for i in sorted({0, args.clients // 2, args.clients - 1}):
            name = f"c{i:02d}"
            target = os.path.join(work, "restore", name)
            r = subprocess.run([binary, "restore", "-r", f"rest:{base}/load/{name}", "latest", "--target", target,
                                "--password-file", os.path.join(work, "password"), "--quiet"], env=env, capture_output=True, text=True)
            src = os.path.join(work, "src", name)
            if r.returncode != 0 or tree_digest(target + src) != tree_digest(src):
                failed.append((name, "restore", r.stderr[-300:]))
            checked += 1
        result = {
            "clients": args.clients, "mb_per_client": args.mb, "source_bytes": total, "wall_seconds": round(wall, 2),
            "throughput_mb_s": round(total / 1e6 / wall, 1), "requests": requests,
            "requests_per_second": round(requests / wall, 1), "responses_by_class": statuses,
            "server_cpu_seconds": round(cpu1 - cpu0, 2), "server_peak_rss_mb": round(hwm / 1e6, 1),
            "failed_clients": len(failed), "restores_verified": checked,
            "server_errors_5xx": statuses.get("5xx", 0),
        }
        print(json.dumps(result, indent=2))
        if args.json:
            with open(args.json, "w") as f:
                json.dump(result, f, indent=2)
        if failed or statuses.get("5xx", 0):
            for f in failed:
                print("FAILED", f, file=sys.stderr)
            sys.exit(1)
    finally:
        if server:
            server.terminate()
            try:
                server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                server.kill()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
