#!/usr/bin/env bash
# SMB source throughput: the same tree backed up from local disk and from a Samba share on
# this machine (smbd on 127.0.0.N:445), each into a fresh repository, then again unchanged.
# Wall time, CPU seconds and peak memory per run (GNU time). Release binary.
#
#   bench/smb.sh [SIZE_MIB]        (default 1024)
set -euo pipefail
cd "$(dirname "$0")/.."
size=${1:-1024}
bin=${BENCH_BIN:-.build-rel/release/lifeboat}
[ -x "$bin" ] || bin=.build/release/lifeboat
[ -x "$bin" ] || { echo "build the release binary first (make release)" >&2; exit 1; }
scripts/install-deps.sh samba samba-common-bin smbclient libsmbclient time
work=${BENCH_DIR:-/tmp/lifeboat-bench}/smb
rm -rf "$work"; mkdir -p "$work"/{private,lock,state,cache,pid,ncalrpc,share}
chmod 755 "$work" "$work/share"
id lifeboatsmb >/dev/null 2>&1 || useradd -M -s /usr/sbin/nologin lifeboatsmb
host=127.0.0.$((200 + RANDOM % 50))
cat > "$work/smb.conf" <<CONF
[global]
  interfaces = $host/8
  bind interfaces only = yes
  smb ports = 445
  rpc start on demand helpers = no
  server role = standalone server
  passdb backend = tdbsam:$work/private/passdb.tdb
  private dir = $work/private
  lock directory = $work/lock
  state directory = $work/state
  cache directory = $work/cache
  pid directory = $work/pid
  ncalrpc dir = $work/ncalrpc
  log file = $work/log.%m
  load printers = no
  printcap name = /dev/null
  disable spoolss = yes
  vfs objects = acl_xattr
[data]
  path = $work/share
  read only = yes
CONF
printf 'bench-secret\nbench-secret\n' | smbpasswd -c "$work/smb.conf" -s -a lifeboatsmb >/dev/null
# The tree: seeded files from 4 KiB to 8 MiB (mostly small, most bytes in large ones).
python3 - "$work/share" "$size" <<'PY'
import os, random, sys
root, total = sys.argv[1], int(sys.argv[2]) << 20
rng = random.Random(22)
done, i = 0, 0
while done < total:
    size = rng.choice([4 << 10, 32 << 10, 256 << 10, 1 << 20, 8 << 20])
    d = os.path.join(root, f"dept-{i % 17}", f"folder-{i % 5}")
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, f"file-{i}.bin"), "wb") as f:
        f.write(rng.randbytes(size))
    done += size; i += 1
print(f"{i} files, {done >> 20} MiB")
PY
chown -R lifeboatsmb "$work/share"
sync
smbd -s "$work/smb.conf" --foreground --no-process-group < /dev/zero > "$work/smbd.out" 2>&1 &
smbd_pid=$!
/usr/libexec/samba/samba-dcerpcd -s "$work/smb.conf" --foreground --libexec-rpcds < /dev/zero > "$work/rpc.out" 2>&1 &
rpc_pid=$!
trap 'kill -9 -- -$smbd_pid $smbd_pid $rpc_pid 2>/dev/null; pkill -9 -f "$work/smb.conf" 2>/dev/null || true' EXIT
for _ in $(seq 100); do [ -S "$work/ncalrpc/np/lsarpc" ] && (echo > /dev/tcp/$host/445) 2>/dev/null && break; sleep 0.1; done

export LIFEBOAT_PASSWORD=bench LB_PW=bench SMB_PASS=bench-secret LIFEBOAT_CACHE_DIR=off
measure() { # label, command…
  local label=$1; shift
  /usr/bin/time -f "%e %U %S %M" -o "$work/time" "$@" > "$work/out" 2>&1 || { cat "$work/out"; exit 1; }
  read -r wall user sys rss < "$work/time"
  python3 -c "
w,u,s,r=$wall,$user,$sys,$rss; mib=$size
print(f'| $label | {w:.2f} s | {mib/w:.0f} MiB/s | {u+s:.2f} s | {r/1024:.0f} MiB |')"
}
plan() { # repo, source line
  cat > "$work/plan-$1.yaml" <<P
organization: Bench
repositories:
  r: { url: $work/repo-$1, password: "env:LB_PW" }
systems:
  - name: Share
    sources:
      - $2
P
}
plan local "path: $work/share"
plan smb "smb: { url: \"smb://$host/data\", username: lifeboatsmb, password: \"env:SMB_PASS\" }"
echo "| Source ($size MiB) | Wall | Throughput | CPU | Peak memory |"
echo "|---|---|---|---|---|"
# Samba's own client reading the whole share (a tar to /dev/null): what SMB gives here.
# Every first read starts from a cold page cache, on the server's side too.
sync; echo 3 > /proc/sys/vm/drop_caches 2>/dev/null || true
measure "smbclient -Tc (reference)" smbclient -s "$work/smb.conf" "//$host/data" -U "lifeboatsmb%bench-secret" -Tc /dev/null
for kind in local smb; do
  "$bin" init -r "$work/repo-$kind" --kdf pbkdf2 > /dev/null
  sync; echo 3 > /proc/sys/vm/drop_caches 2>/dev/null || true
  measure "$kind, first backup" "$bin" run --all --plan "$work/plan-$kind.yaml"
  measure "$kind, unchanged" "$bin" run --all --plan "$work/plan-$kind.yaml"
done
