# Lifeboat — `make demo` runs the main job, `make test` runs every test. Each target installs
# what it needs first (Debian packages through scripts/install-deps.sh).
SHELL := /bin/bash
SWIFT ?= swift

.PHONY: deps test-deps build release install install-files man test demo demo-backup bench bench-smoke clean s3-server

deps:
	@scripts/install-deps.sh

# The tests also need a real S3 server (Ceph RADOS Gateway from Debian), the AWS CLI as an
# independent client, PostgreSQL and MariaDB (database sources and their drills), an SMTP
# server (aiosmtpd, for alerts), Samba with its VFS modules (acl_xattr keeps Windows ACLs), the sqlite3 shell (audit tampering) and
# headless Chromium (report and dashboard layout; screenshots land in test-artifacts/reports/ and
# test-artifacts/dashboard/), and openssl (a private certificate for the HTTPS server test).
test-deps:
	@scripts/install-deps.sh radosgw ceph-mon ceph-osd curl openssl postgresql-15 mariadb-server mariadb-client python3-aiosmtpd samba samba-common-bin samba-vfs-modules smbclient libsmbclient sqlite3 chromium fonts-dejavu-core prometheus groff-base binutils
	@command -v aws >/dev/null || python3 -m pip install --quiet awscli

s3-server: test-deps
	scripts/s3-server.sh start

build: deps
	$(SWIFT) build

release: deps
	$(SWIFT) build -c release --static-swift-stdlib

# `make install` (PREFIX=/usr/local, DESTDIR for packaging): the release binary, stripped of its
# debug symbols, and a man page per command generated from its --help (scripts/manpages.py).
PREFIX ?= /usr/local
BIN ?= .build/release/lifeboat
install: release install-files

install-files:
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/man/man1
	install -m 0755 -s $(BIN) $(DESTDIR)$(PREFIX)/bin/lifeboat
	scripts/manpages.py $(DESTDIR)$(PREFIX)/bin/lifeboat $(DESTDIR)$(PREFIX)/share/man/man1

# Man pages of the debug build, to read before installing: man -l .build/man/lifeboat-backup.1
man: build
	scripts/manpages.py .build/debug/lifeboat .build/man

test: deps test-deps
	scripts/check-imports.sh
	$(SWIFT) build --build-tests
	scripts/s3-server.sh start >/dev/null
	scripts/pg-server.sh start >/dev/null
	scripts/mariadb-server.sh start >/dev/null
	status=0; $(SWIFT) test --skip-build || status=$$?; scripts/s3-server.sh stop; scripts/pg-server.sh stop; scripts/mariadb-server.sh stop; exit $$status
	bench/run.sh --smoke

demo: release
	@scripts/install-deps.sh sqlite3
	scripts/demo.sh

demo-backup: release
	scripts/demo-backup.sh

bench: release
	bench/run.sh

clean:
	rm -rf .build
