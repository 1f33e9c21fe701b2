#!/usr/bin/env python3
"""Independent check that a restored tree equals its source: walks both without following
symlinks and compares kinds, contents (SHA-256), sizes, permission bits, owners, mtimes (ns),
symlink targets and extended attributes. Prints differences; exit 1 if there are any."""
import hashlib, os, stat, sys

def digest(p):
    h = hashlib.sha256()
    with open(p, 'rb') as f:
        for block in iter(lambda: f.read(1 << 20), b''):
            h.update(block)
    return h.hexdigest()

def xattrs(p):
    try:
        return {n: os.getxattr(p, n, follow_symlinks=False) for n in os.listxattr(p, follow_symlinks=False)}
    except OSError:
        return {}

def main(a, b):
    a, b = os.fsencode(a), os.fsencode(b)
    diffs, count = [], 0
    for root, dirs, files in os.walk(a):
        rel = os.path.relpath(root, a)
        other = os.path.normpath(os.path.join(b, rel))
        for name in dirs + files:
            pa, pb = os.path.join(root, name), os.path.join(other, name)
            count += 1
            shown = os.fsdecode(os.path.join(rel, name))
            try:
                sa, sb = os.lstat(pa), os.lstat(pb)
            except FileNotFoundError:
                diffs.append(f"{shown}: missing in copy"); continue
            except PermissionError:
                continue
            if stat.S_IFMT(sa.st_mode) != stat.S_IFMT(sb.st_mode):
                diffs.append(f"{shown}: kind differs"); continue
            if not stat.S_ISLNK(sa.st_mode) and stat.S_IMODE(sa.st_mode) != stat.S_IMODE(sb.st_mode):
                diffs.append(f"{shown}: mode differs")
            if (sa.st_uid, sa.st_gid) != (sb.st_uid, sb.st_gid):
                diffs.append(f"{shown}: owner differs")
            if sa.st_mtime_ns != sb.st_mtime_ns and not stat.S_ISDIR(sa.st_mode):
                diffs.append(f"{shown}: mtime differs")
            if stat.S_ISREG(sa.st_mode):
                if sa.st_size != sb.st_size or digest(pa) != digest(pb):
                    diffs.append(f"{shown}: content differs")
            elif stat.S_ISLNK(sa.st_mode):
                if os.readlink(pa) != os.readlink(pb):
                    diffs.append(f"{shown}: symlink target differs")
            if not stat.S_ISLNK(sa.st_mode) and xattrs(pa) != xattrs(pb):
                diffs.append(f"{shown}: extended attributes differ")
    for d in diffs[:50]:
        print(d)
    print(f"compared {count} entries: {len(diffs)} differences")
    return 1 if diffs else 0

if __name__ == '__main__':
    sys.exit(main(sys.argv[1], sys.argv[2]))
