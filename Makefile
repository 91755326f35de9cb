# Copyright (c) 2026, The encrypted_field Authors
EXTENSION  = encrypted_field
EXTVERSION = $(shell grep default_version $(EXTENSION).control | \
               sed -e "s/default_version[[:space:]]*=[[:space:]]*'\([^']*\)'/\1/")

MODULE_big = $(EXTENSION)
# SQL-facing (fmgr wrappers only): ef_*.c; the domain: value, envelope,
# plaintext, compress, term, indexkey, keystore, registry, kdf; the provider:
# crypto_openssl, cipher_direct, hmac_direct; utilities: lockedmem, randpool, redact, audit, decrypt_audit
# (doc/architecture.md)
OBJS = src/encrypted_field.o src/ef_type.o src/ef_funcs.o src/ef_keyfuncs.o src/ef_ops.o \
       src/ef_analyze.o src/ef_report.o \
       src/value.o src/envelope.o src/plaintext.o src/compress.o src/textform.o src/term.o \
       src/indexkey.o src/rotation_count.o src/keystore.o src/registry.o src/kdf.o \
       src/key_channel.o src/key_source.o src/key_plan.o src/parallel_keys.o \
       src/citus_forward.o src/citus_plan.o src/forward_seal.o src/node_key.o src/ef_citus.o \
       src/crypto_openssl.o src/cipher_direct.o src/hmac_direct.o src/crypto_x25519.o \
       src/lockedmem.o src/randpool.o src/redact.o src/audit.o src/decrypt_audit.o

# Released versions' scripts are frozen in sql/. The current version's
# script is built from sql/$(EXTENSION).sql, and the upgrade to it from the
# last release from sql/upgrade/, each taking its PL/pgSQL routines from
# sql/routines/ where a line reads "\i routines/NAME.sql".  A release
# freezes both built scripts into sql/ (doc/release.md).
EF_UPGRADES = $(patsubst sql/upgrade/%.sql,sql/$(EXTENSION)--%.sql,$(wildcard sql/upgrade/*.sql))
DATA       = sql/$(EXTENSION)--0.1.0.sql sql/$(EXTENSION)--0.2.0.sql \
             $(filter-out $(EF_UPGRADES),$(wildcard sql/$(EXTENSION)--*--*.sql))
DATA_built = sql/$(EXTENSION)--$(EXTVERSION).sql $(EF_UPGRADES)

REGRESS = setup type_io envelope_kat keystore functions types compression search rotation adoption views errors privileges copy_binary index_rotation opclass
REGRESS_OPTS = --inputdir=test --outputdir=test

PG_CONFIG ?= pg_config

# the library's version, which PostgreSQL 18 records (PG_MODULE_MAGIC_EXT)
PG_CPPFLAGS += -DEF_EXTVERSION=\"$(EXTVERSION)\"

# pgcrypto takes -lcrypto from the in-tree $(LIBS); a PGXS build must name it
SHLIB_LINK += -lcrypto
# lz4 where the server was built with it (PostgreSQL's pg_config.h says so)
ifneq ($(shell grep -c '^\#define USE_LZ4 1' $(shell $(PG_CONFIG) --includedir-server)/pg_config.h),0)
SHLIB_LINK += -llz4
endif

PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

# Tests give their keys at connection start, as psql users do (psql 15 has
# no \bind); the library must then be loaded as the session starts.
# Setting session_preload_libraries this way needs a superuser, as running
# the tests does.
EF_TEST_OPTIONS = -c session_preload_libraries=encrypted_field -c encrypted_field.keys=
installcheck: export PGOPTIONS = $(EF_TEST_OPTIONS)$(shell sh test/keys.sh regress)
pgtap: export PGOPTIONS = $(EF_TEST_OPTIONS)$(shell sh test/keys.sh tap)

# a script with each "\i routines/NAME.sql" line replaced by that file
EF_ASSEMBLE = awk '/^\\i routines\/[a-z_]+\.sql$$/ { f = "sql/" $$2; \
	while ((getline line < f) > 0) print line; close(f); next } { print }'

sql/$(EXTENSION)--$(EXTVERSION).sql: sql/$(EXTENSION).sql $(wildcard sql/routines/*.sql)
	$(EF_ASSEMBLE) $< > $@

sql/$(EXTENSION)--%.sql: sql/upgrade/%.sql $(wildcard sql/routines/*.sql)
	$(EF_ASSEMBLE) $< > $@

# C unit tests of the crypto and envelope layers; they need no server
UNIT_CFLAGS = -O2 -g -Wall -Wextra -Wno-unused-parameter $(PG_CFLAGS) \
              -I$(shell $(PG_CONFIG) --includedir-server) -Isrc
UNIT_SRCS = src/crypto_openssl.c src/cipher_direct.c src/hmac_direct.c src/envelope.c src/kdf.c src/lockedmem.c

test/unit/test_crypto: test/unit/test_crypto.c test/unit/unit.h $(UNIT_SRCS) src/crypto.h
	$(CC) $(UNIT_CFLAGS) -o $@ test/unit/test_crypto.c $(UNIT_SRCS) -lcrypto

test/unit/test_envelope: test/unit/test_envelope.c test/unit/unit.h $(UNIT_SRCS) src/envelope.h src/crypto.h
	$(CC) $(UNIT_CFLAGS) -o $@ test/unit/test_envelope.c $(UNIT_SRCS) -lcrypto

unitcheck: test/unit/test_crypto test/unit/test_envelope
	test/unit/run.sh

# a libpq client that passes keys as bind parameters, for the key hygiene suite
test/hygiene/bind_key: test/hygiene/bind_key.c
	$(CC) -O2 -Wall -Wextra -I$(shell $(PG_CONFIG) --includedir) -o $@ $< \
		-L$(shell $(PG_CONFIG) --libdir) -Wl,-rpath,$(shell $(PG_CONFIG) --libdir) -lpq

# pgTAP against a running server that has pgtap and dblink, allows prepared
# transactions, and was started with these PGOPTIONS in its environment
# (test/t/001_pgtap.pl sets such a server up itself)
pgtap:
	pg_prove -ovf $(if $(PGTAP_TESTS),$(PGTAP_TESTS),test/*.sql)

# The TAP suites, test/t/*.pl: each creates and removes clusters of its own
# (PostgreSQL::Test::Cluster) as the calling user, from the binaries of
# $(PG_CONFIG), put first in PATH.  Needs PostgreSQL's TAP modules (a build
# with --enable-tap-tests; Debian's has them) and IPC::Run.  One suite:
#   make prove_installcheck PROVE_TESTS=test/t/010_key_hygiene.pl
EF_TAP_PERL = $(top_srcdir)/src/test/perl
prove_installcheck: test/hygiene/bind_key
	@test -f '$(EF_TAP_PERL)/PostgreSQL/Test/Cluster.pm' || { echo \
		"$(EF_TAP_PERL)/PostgreSQL/Test/Cluster.pm not found: build PostgreSQL with --enable-tap-tests" >&2; exit 1; }
	rm -rf '$(CURDIR)'/tmp_check
	cd $(srcdir) && TESTDIR='$(CURDIR)' PATH="$(bindir):$$PATH" \
		TESTLOGDIR='$(CURDIR)/tmp_check/log' TESTDATADIR='$(CURDIR)/tmp_check' \
		PG_REGRESS='$(top_builddir)/src/test/regress/pg_regress' \
		$(or $(PROVE),prove) $(PG_PROVE_FLAGS) -I test/perl $(PROVE_FLAGS) \
		$(if $(PROVE_TESTS),$(PROVE_TESTS),test/t/*.pl)

.PHONY: unitcheck pgtap prove_installcheck
EXTRA_CLEAN = test/results test/regression.diffs test/regression.out test/unit/test_crypto test/unit/test_envelope test/unit/*.tsv test/hygiene/bind_key tmp_check
