-- complain if script is sourced in psql, rather than via CREATE EXTENSION
\echo Use "CREATE EXTENSION encrypted_field" to load this file. \quit

-- Copyright (c) 2026, The encrypted_field Authors

-- encrypted_field type

CREATE TYPE encrypted_field;

CREATE FUNCTION ef_in(cstring) RETURNS encrypted_field
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION ef_in(cstring) IS 'I/O';

CREATE FUNCTION ef_out(encrypted_field) RETURNS cstring
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION ef_out(encrypted_field) IS 'I/O';

CREATE FUNCTION ef_recv(internal) RETURNS encrypted_field
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION ef_recv(internal) IS 'I/O';

CREATE FUNCTION ef_send(encrypted_field) RETURNS bytea
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION ef_send(encrypted_field) IS 'I/O';

CREATE FUNCTION ef_typanalyze(internal) RETURNS boolean
	AS 'MODULE_PATHNAME' LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION ef_typanalyze(internal) IS 'ANALYZE support: null fraction, width and number of distinct search terms';

-- ciphertext does not compress, so TOAST should not try
CREATE TYPE encrypted_field (
	INPUT = ef_in,
	OUTPUT = ef_out,
	RECEIVE = ef_recv,
	SEND = ef_send,
	ANALYZE = ef_typanalyze,
	STORAGE = external
);
COMMENT ON TYPE encrypted_field IS 'a value encrypted under its own data key, wrapped by a master key';

CREATE TYPE encrypted_field_envelope AS (
	version integer,
	flags integer,
	key_id integer,
	plaintext_type regtype,
	wrapped_key bytea,
	nonce bytea,
	ciphertext bytea,
	tag bytea,
	search_term bytea
);
COMMENT ON TYPE encrypted_field_envelope IS 'the parts of an encrypted_field envelope';

CREATE TYPE encrypted_field_term;

CREATE FUNCTION ef_term_in(cstring) RETURNS encrypted_field_term
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION ef_term_in(cstring) IS 'I/O';

CREATE FUNCTION ef_term_out(encrypted_field_term) RETURNS cstring
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION ef_term_out(encrypted_field_term) IS 'I/O';

CREATE FUNCTION ef_term_recv(internal) RETURNS encrypted_field_term
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION ef_term_recv(internal) IS 'I/O';

CREATE FUNCTION ef_term_send(encrypted_field_term) RETURNS bytea
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION ef_term_send(encrypted_field_term) IS 'I/O';

CREATE TYPE encrypted_field_term (
	INPUT = ef_term_in,
	OUTPUT = ef_term_out,
	RECEIVE = ef_term_recv,
	SEND = ef_term_send,
	INTERNALLENGTH = 16,
	ALIGNMENT = char,
	STORAGE = plain
);
COMMENT ON TYPE encrypted_field_term IS 'a blind-index search term, the probe that = compares with searchable values';

-- key registry: check values only, never keys

CREATE TABLE ef_keys (
	key_id integer PRIMARY KEY CHECK (key_id > 0),
	fingerprint bytea NOT NULL CHECK (pg_catalog.octet_length(fingerprint) = 16),
	created_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
	retired_at timestamptz,
	comment text,
	-- the keys of one group (a tenant, say) share index keys; no other
	-- group's keys can compute its search terms
	index_group text NOT NULL DEFAULT 'default'
		CHECK (pg_catalog.octet_length(index_group) BETWEEN 1 AND 63)
);
COMMENT ON TABLE ef_keys IS 'registered master keys: id, check value, dates, comment and index-key group, never the key';
SELECT pg_catalog.pg_extension_config_dump('ef_keys', '');

-- the database's index keys (for search terms), each wrapped under every
-- master key, so that terms survive a master key's rotation
CREATE TABLE ef_index_keys (
	index_key_id integer NOT NULL CHECK (index_key_id BETWEEN 1 AND 65535),
	key_id integer NOT NULL REFERENCES ef_keys (key_id),
	wrapped_key bytea NOT NULL CHECK (pg_catalog.octet_length(wrapped_key) = 40),
	created_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
	PRIMARY KEY (index_key_id, key_id)
);
COMMENT ON TABLE ef_index_keys IS 'index keys for search terms, each wrapped under a master key';
SELECT pg_catalog.pg_extension_config_dump('ef_index_keys', '');

-- functions

CREATE FUNCTION ef_register_key(key_id integer, master_key bytea DEFAULT NULL, comment text DEFAULT NULL,
	index_group text DEFAULT 'default')
	RETURNS void
	AS 'MODULE_PATHNAME', 'ef_register_key_in_group' LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION ef_register_key(integer, bytea, text, text) IS 'record a master key''s check value in the registry, in an index-key group; the key, a bind parameter or given at connection start, is not stored';

CREATE FUNCTION ef_retire_key(key_id integer) RETURNS void
	AS 'MODULE_PATHNAME', 'ef_retire_key' LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE;
COMMENT ON FUNCTION ef_retire_key(integer) IS 'mark a master key retired: it decrypts but encrypts no new values';

CREATE FUNCTION ef_rotate_index_key(index_group text DEFAULT 'default') RETURNS integer
	AS 'MODULE_PATHNAME', 'ef_rotate_index_key_of_group' LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION ef_rotate_index_key(text) IS 'create a new index key for the search terms of an index-key group, wrapped under its held master keys';

CREATE FUNCTION ef_unlock(key_id integer, master_key bytea DEFAULT NULL, scope text DEFAULT 'session',
	reason text DEFAULT NULL)
	RETURNS void
	AS 'MODULE_PATHNAME', 'ef_unlock_with_reason' LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION ef_unlock(integer, bytea, text, text) IS 'check a master key, a bind parameter or given at connection start, against the registry and hold it for this role in this session or transaction, with the reason the audit lines give';

CREATE FUNCTION ef_lock() RETURNS integer
	AS 'MODULE_PATHNAME', 'ef_lock' LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION ef_lock() IS 'forget and wipe every master key this session holds';

CREATE FUNCTION ef_held_keys(OUT key_id integer, OUT scope text, OUT is_current boolean,
	OUT retired boolean, OUT unlocked_at timestamptz)
	RETURNS SETOF record
	AS 'MODULE_PATHNAME', 'ef_held_keys' LANGUAGE C VOLATILE PARALLEL RESTRICTED;
COMMENT ON FUNCTION ef_held_keys() IS 'the master key ids this session holds, never the keys';

-- Functions that read the keys held by this backend are PARALLEL SAFE: a
-- query that may run in parallel hands the leader's keys to its own workers,
-- sealed, for that query only (src/parallel_keys.c, doc/security.md).
CREATE FUNCTION ef_encrypt(value anyelement, context text DEFAULT NULL,
	searchable boolean DEFAULT false, key_id integer DEFAULT NULL,
	search_domain text DEFAULT NULL, search_normalize text DEFAULT 'exact')
	RETURNS encrypted_field
	AS 'MODULE_PATHNAME', 'ef_encrypt' LANGUAGE C VOLATILE PARALLEL SAFE;
COMMENT ON FUNCTION ef_encrypt(anyelement, text, boolean, integer, text, text) IS 'encrypt a value under a fresh data key wrapped by a held master key';

-- an untyped literal resolves to this overload, as text
CREATE FUNCTION ef_encrypt(value text, context text DEFAULT NULL,
	searchable boolean DEFAULT false, key_id integer DEFAULT NULL,
	search_domain text DEFAULT NULL, search_normalize text DEFAULT 'exact')
	RETURNS encrypted_field
	AS 'MODULE_PATHNAME', 'ef_encrypt' LANGUAGE C VOLATILE PARALLEL SAFE;
COMMENT ON FUNCTION ef_encrypt(text, text, boolean, integer, text, text) IS 'encrypt text under a fresh data key wrapped by a held master key';

-- varchar and char would otherwise resolve to the text overload and be
-- recorded as text
CREATE FUNCTION ef_encrypt(value varchar, context text DEFAULT NULL,
	searchable boolean DEFAULT false, key_id integer DEFAULT NULL,
	search_domain text DEFAULT NULL, search_normalize text DEFAULT 'exact')
	RETURNS encrypted_field
	AS 'MODULE_PATHNAME', 'ef_encrypt' LANGUAGE C VOLATILE PARALLEL SAFE;
COMMENT ON FUNCTION ef_encrypt(varchar, text, boolean, integer, text, text) IS 'encrypt varchar under a fresh data key wrapped by a held master key';

CREATE FUNCTION ef_encrypt(value character, context text DEFAULT NULL,
	searchable boolean DEFAULT false, key_id integer DEFAULT NULL,
	search_domain text DEFAULT NULL, search_normalize text DEFAULT 'exact')
	RETURNS encrypted_field
	AS 'MODULE_PATHNAME', 'ef_encrypt' LANGUAGE C VOLATILE PARALLEL SAFE;
COMMENT ON FUNCTION ef_encrypt(character, text, boolean, integer, text, text) IS 'encrypt char(n) under a fresh data key wrapped by a held master key';

-- the search term of a value: what = compares with searchable values
CREATE FUNCTION ef_term(value anyelement, search_domain text DEFAULT NULL,
	search_normalize text DEFAULT 'exact') RETURNS encrypted_field_term
	AS 'MODULE_PATHNAME', 'ef_term' LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION ef_term(anyelement, text, text) IS 'the blind-index search term of a value, to find searchable values equal to it';

CREATE FUNCTION ef_term(value text, search_domain text DEFAULT NULL,
	search_normalize text DEFAULT 'exact') RETURNS encrypted_field_term
	AS 'MODULE_PATHNAME', 'ef_term' LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION ef_term(text, text, text) IS 'the blind-index search term of a text value';

CREATE FUNCTION ef_term(value varchar, search_domain text DEFAULT NULL,
	search_normalize text DEFAULT 'exact') RETURNS encrypted_field_term
	AS 'MODULE_PATHNAME', 'ef_term' LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION ef_term(varchar, text, text) IS 'the blind-index search term of a varchar value';

CREATE FUNCTION ef_term(value character, search_domain text DEFAULT NULL,
	search_normalize text DEFAULT 'exact') RETURNS encrypted_field_term
	AS 'MODULE_PATHNAME', 'ef_term' LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION ef_term(character, text, text) IS 'the blind-index search term of a char(n) value';

-- the terms of a value under every index key held, newest first: while
-- values move to a rotated index key, c = ANY(ef_terms(x)) finds them all
CREATE FUNCTION ef_terms(value anyelement, search_domain text DEFAULT NULL,
	search_normalize text DEFAULT 'exact') RETURNS encrypted_field_term[]
	AS 'MODULE_PATHNAME', 'ef_terms' LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION ef_terms(anyelement, text, text) IS 'the search terms of a value under every index key held, newest first';

CREATE FUNCTION ef_terms(value text, search_domain text DEFAULT NULL,
	search_normalize text DEFAULT 'exact') RETURNS encrypted_field_term[]
	AS 'MODULE_PATHNAME', 'ef_terms' LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION ef_terms(text, text, text) IS 'the search terms of a text value under every index key held';

CREATE FUNCTION ef_terms(value varchar, search_domain text DEFAULT NULL,
	search_normalize text DEFAULT 'exact') RETURNS encrypted_field_term[]
	AS 'MODULE_PATHNAME', 'ef_terms' LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION ef_terms(varchar, text, text) IS 'the search terms of a varchar value under every index key held';

CREATE FUNCTION ef_terms(value character, search_domain text DEFAULT NULL,
	search_normalize text DEFAULT 'exact') RETURNS encrypted_field_term[]
	AS 'MODULE_PATHNAME', 'ef_terms' LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION ef_terms(character, text, text) IS 'the search terms of a char(n) value under every index key held';

CREATE FUNCTION ef_decrypt(value encrypted_field, context text DEFAULT NULL) RETURNS text
	AS 'MODULE_PATHNAME', 'ef_decrypt' LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION ef_decrypt(encrypted_field, text) IS 'decrypt a value to text with a held master key';

CREATE FUNCTION ef_decrypt_as(value encrypted_field, as_type anyelement, context text DEFAULT NULL)
	RETURNS anyelement
	AS 'MODULE_PATHNAME', 'ef_decrypt_as' LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION ef_decrypt_as(encrypted_field, anyelement, text) IS 'decrypt a value to the type of as_type, which must be the type it was encrypted from';

CREATE FUNCTION ef_rewrap(value encrypted_field, key_id integer DEFAULT NULL)
	RETURNS encrypted_field
	AS 'MODULE_PATHNAME', 'ef_rewrap' LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION ef_rewrap(encrypted_field, integer) IS 're-wrap a value''s data key under another held master key; content bytes unchanged';

CREATE FUNCTION ef_key_id(value encrypted_field) RETURNS integer
	AS 'MODULE_PATHNAME', 'ef_key_id' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION ef_key_id(encrypted_field) IS 'master key id of a value, readable with no key held';

CREATE FUNCTION ef_is_searchable(value encrypted_field) RETURNS boolean
	AS 'MODULE_PATHNAME', 'ef_is_searchable' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION ef_is_searchable(encrypted_field) IS 'whether a value carries a search term, readable with no key held';

CREATE FUNCTION ef_index_key_id(value encrypted_field) RETURNS integer
	AS 'MODULE_PATHNAME', 'ef_index_key_id' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION ef_index_key_id(encrypted_field) IS 'id of the index key a value''s search term was made with, readable with no key held';

CREATE FUNCTION ef_term_index_key_id() RETURNS integer
	AS 'MODULE_PATHNAME', 'ef_term_index_key_id' LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION ef_term_index_key_id() IS 'the id of the index key new search terms use in this session: the newest of the current key''s index-key group';

CREATE FUNCTION ef_envelope(value encrypted_field) RETURNS encrypted_field_envelope
	AS 'MODULE_PATHNAME', 'ef_envelope' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION ef_envelope(encrypted_field) IS 'the parts of a value''s envelope, readable with no key held';

-- The routines below name this extension's objects with the extschema
-- placeholder (the word between two @), which CREATE EXTENSION and ALTER
-- EXTENSION UPDATE replace with the schema's name as quote_identifier()
-- writes it ("Enc Field", or plain public); since CVE-2023-39417 (15.4 and
-- later) they refuse to when the name holds a double quote, single quote,
-- dollar sign or backslash (quoting_relevant_chars in PostgreSQL's
-- src/backend/commands/extension.c).  So the placeholder followed by .name
-- is a qualified name as it stands; in quotes with .name, a literal that
-- regclass or regtype input reads as one; in quotes alone, a literal holding
-- the quoted schema, which SQL a routine generates takes as a format()
-- argument with %s (%I would quote it twice), never in the format string,
-- where a % in the name would be read as a format specifier.  No comment
-- holds the placeholder: a newline in the name would end the comment (newer
-- releases refuse newlines and comment markers in the name as well).
\i routines/ef_column_batch_check.sql

\i routines/ef_update_in_batches.sql

\i routines/ef_rewrap_column.sql

CREATE FUNCTION ef_reterm(value encrypted_field, context text DEFAULT NULL,
	search_domain text DEFAULT NULL, search_normalize text DEFAULT 'exact')
	RETURNS encrypted_field
	AS 'MODULE_PATHNAME', 'ef_reterm' LANGUAGE C VOLATILE PARALLEL SAFE;
COMMENT ON FUNCTION ef_reterm(encrypted_field, text, text, text) IS 'encrypt a searchable value again with a term of the newest index key held; plaintext, type, context and master key unchanged';

\i routines/ef_reterm_column.sql

-- Citus (doc/citus.md).  This server's public key, to which a coordinator
-- seals the keys it forwards to the workers of one transaction
CREATE FUNCTION ef_node_public_key() RETURNS text
	AS 'MODULE_PATHNAME', 'ef_node_public_key' LANGUAGE C VOLATILE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION ef_node_public_key() IS 'this server''s public key for keys forwarded by a Citus coordinator (needs shared_preload_libraries)';

-- In an UPDATE of a Citus table, the planner calls these in place of
-- ef_encrypt, ef_rewrap and ef_reterm: Citus lets only IMMUTABLE functions
-- over columns run on the workers, and evaluates STABLE ones over constants
-- on the coordinator.  The markings say where they run, not what they
-- compute; call the functions they stand for instead.  Their arguments and
-- defaults are those of the functions they stand for, which the planner
-- fills in after the hook.
CREATE FUNCTION ef_encrypt_on_coordinator(value anyelement, context text DEFAULT NULL,
	searchable boolean DEFAULT false, key_id integer DEFAULT NULL,
	search_domain text DEFAULT NULL, search_normalize text DEFAULT 'exact')
	RETURNS encrypted_field
	AS 'MODULE_PATHNAME', 'ef_encrypt' LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION ef_encrypt_on_coordinator(anyelement, text, boolean, integer, text, text) IS 'ef_encrypt for an UPDATE of a Citus table, over constants: evaluated once on the coordinator; internal';

CREATE FUNCTION ef_encrypt_on_shard(value anyelement, context text DEFAULT NULL,
	searchable boolean DEFAULT false, key_id integer DEFAULT NULL,
	search_domain text DEFAULT NULL, search_normalize text DEFAULT 'exact')
	RETURNS encrypted_field
	AS 'MODULE_PATHNAME', 'ef_encrypt' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION ef_encrypt_on_shard(anyelement, text, boolean, integer, text, text) IS 'ef_encrypt for an UPDATE of a Citus table, over columns: runs on the workers; internal';

CREATE FUNCTION ef_rewrap_on_shard(value encrypted_field, key_id integer DEFAULT NULL)
	RETURNS encrypted_field
	AS 'MODULE_PATHNAME', 'ef_rewrap' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION ef_rewrap_on_shard(encrypted_field, integer) IS 'ef_rewrap for an UPDATE of a Citus table: runs on the workers; internal';

CREATE FUNCTION ef_reterm_on_shard(value encrypted_field, context text DEFAULT NULL,
	search_domain text DEFAULT NULL, search_normalize text DEFAULT 'exact')
	RETURNS encrypted_field
	AS 'MODULE_PATHNAME', 'ef_reterm' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION ef_reterm_on_shard(encrypted_field, text, text, text) IS 'ef_reterm for an UPDATE of a Citus table: runs on the workers; internal';

\i routines/ef_citus_share_registry.sql

\i routines/ef_encrypt_column.sql

\i routines/ef_create_view.sql

-- operators

-- Searchable values compare by their search terms only, with each other and
-- with terms (encrypted_field_term), and terms with each other the same
-- way: the order is arbitrary but stable.  A value without a term cannot be
-- compared (outside ANALYZE: see src/ef_ops.c).
CREATE FUNCTION ef_eq(encrypted_field, encrypted_field) RETURNS boolean
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION ef_eq(encrypted_field, encrypted_field) IS 'implementation of = operator';
CREATE FUNCTION ef_ne(encrypted_field, encrypted_field) RETURNS boolean
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION ef_ne(encrypted_field, encrypted_field) IS 'implementation of <> operator';
CREATE FUNCTION ef_lt(encrypted_field, encrypted_field) RETURNS boolean
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION ef_lt(encrypted_field, encrypted_field) IS 'implementation of < operator';
CREATE FUNCTION ef_le(encrypted_field, encrypted_field) RETURNS boolean
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION ef_le(encrypted_field, encrypted_field) IS 'implementation of <= operator';
CREATE FUNCTION ef_gt(encrypted_field, encrypted_field) RETURNS boolean
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION ef_gt(encrypted_field, encrypted_field) IS 'implementation of > operator';
CREATE FUNCTION ef_ge(encrypted_field, encrypted_field) RETURNS boolean
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION ef_ge(encrypted_field, encrypted_field) IS 'implementation of >= operator';
CREATE FUNCTION ef_cmp(encrypted_field, encrypted_field) RETURNS integer
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION ef_cmp(encrypted_field, encrypted_field) IS 'btree support: order searchable values by term';
CREATE FUNCTION ef_hash(encrypted_field) RETURNS integer
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION ef_hash(encrypted_field) IS 'hash support: hash a searchable value''s term';
CREATE FUNCTION ef_hash_extended(encrypted_field, bigint) RETURNS bigint
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION ef_hash_extended(encrypted_field, bigint) IS 'hash support: hash a searchable value''s term with a seed';

CREATE FUNCTION ef_eq_term(encrypted_field, encrypted_field_term) RETURNS boolean
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION ef_eq_term(encrypted_field, encrypted_field_term) IS 'implementation of = operator';
CREATE FUNCTION ef_ne_term(encrypted_field, encrypted_field_term) RETURNS boolean
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION ef_ne_term(encrypted_field, encrypted_field_term) IS 'implementation of <> operator';
CREATE FUNCTION ef_lt_term(encrypted_field, encrypted_field_term) RETURNS boolean
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION ef_lt_term(encrypted_field, encrypted_field_term) IS 'implementation of < operator';
CREATE FUNCTION ef_le_term(encrypted_field, encrypted_field_term) RETURNS boolean
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION ef_le_term(encrypted_field, encrypted_field_term) IS 'implementation of <= operator';
CREATE FUNCTION ef_gt_term(encrypted_field, encrypted_field_term) RETURNS boolean
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION ef_gt_term(encrypted_field, encrypted_field_term) IS 'implementation of > operator';
CREATE FUNCTION ef_ge_term(encrypted_field, encrypted_field_term) RETURNS boolean
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION ef_ge_term(encrypted_field, encrypted_field_term) IS 'implementation of >= operator';
CREATE FUNCTION ef_cmp_term(encrypted_field, encrypted_field_term) RETURNS integer
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION ef_cmp_term(encrypted_field, encrypted_field_term) IS 'btree support: order a searchable value against a term';

CREATE FUNCTION ef_term_eq(encrypted_field_term, encrypted_field) RETURNS boolean
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION ef_term_eq(encrypted_field_term, encrypted_field) IS 'implementation of = operator';
CREATE FUNCTION ef_term_ne(encrypted_field_term, encrypted_field) RETURNS boolean
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION ef_term_ne(encrypted_field_term, encrypted_field) IS 'implementation of <> operator';
CREATE FUNCTION ef_term_lt(encrypted_field_term, encrypted_field) RETURNS boolean
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION ef_term_lt(encrypted_field_term, encrypted_field) IS 'implementation of < operator';
CREATE FUNCTION ef_term_le(encrypted_field_term, encrypted_field) RETURNS boolean
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION ef_term_le(encrypted_field_term, encrypted_field) IS 'implementation of <= operator';
CREATE FUNCTION ef_term_gt(encrypted_field_term, encrypted_field) RETURNS boolean
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION ef_term_gt(encrypted_field_term, encrypted_field) IS 'implementation of > operator';
CREATE FUNCTION ef_term_ge(encrypted_field_term, encrypted_field) RETURNS boolean
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION ef_term_ge(encrypted_field_term, encrypted_field) IS 'implementation of >= operator';
CREATE FUNCTION ef_term_cmp(encrypted_field_term, encrypted_field) RETURNS integer
	AS 'MODULE_PATHNAME', 'ef_term_cmp_value' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION ef_term_cmp(encrypted_field_term, encrypted_field) IS 'btree support: order a term against a searchable value';

CREATE FUNCTION ef_term_eq_term(encrypted_field_term, encrypted_field_term) RETURNS boolean
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION ef_term_eq_term(encrypted_field_term, encrypted_field_term) IS 'implementation of = operator';
CREATE FUNCTION ef_term_ne_term(encrypted_field_term, encrypted_field_term) RETURNS boolean
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION ef_term_ne_term(encrypted_field_term, encrypted_field_term) IS 'implementation of <> operator';
CREATE FUNCTION ef_term_lt_term(encrypted_field_term, encrypted_field_term) RETURNS boolean
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION ef_term_lt_term(encrypted_field_term, encrypted_field_term) IS 'implementation of < operator';
CREATE FUNCTION ef_term_le_term(encrypted_field_term, encrypted_field_term) RETURNS boolean
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION ef_term_le_term(encrypted_field_term, encrypted_field_term) IS 'implementation of <= operator';
CREATE FUNCTION ef_term_gt_term(encrypted_field_term, encrypted_field_term) RETURNS boolean
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION ef_term_gt_term(encrypted_field_term, encrypted_field_term) IS 'implementation of > operator';
CREATE FUNCTION ef_term_ge_term(encrypted_field_term, encrypted_field_term) RETURNS boolean
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION ef_term_ge_term(encrypted_field_term, encrypted_field_term) IS 'implementation of >= operator';
CREATE FUNCTION ef_term_cmp_term(encrypted_field_term, encrypted_field_term) RETURNS integer
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION ef_term_cmp_term(encrypted_field_term, encrypted_field_term) IS 'btree support: order two terms';
CREATE FUNCTION ef_term_hash(encrypted_field_term) RETURNS integer
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION ef_term_hash(encrypted_field_term) IS 'hash support: hash a term';
CREATE FUNCTION ef_term_hash_extended(encrypted_field_term, bigint) RETURNS bigint
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION ef_term_hash_extended(encrypted_field_term, bigint) IS 'hash support: hash a term with a seed';

CREATE OPERATOR = (LEFTARG = encrypted_field, RIGHTARG = encrypted_field, PROCEDURE = ef_eq,
	COMMUTATOR = = , NEGATOR = <> , RESTRICT = eqsel, JOIN = eqjoinsel, HASHES, MERGES);
COMMENT ON OPERATOR = (encrypted_field, encrypted_field) IS 'equal search terms';
CREATE OPERATOR <> (LEFTARG = encrypted_field, RIGHTARG = encrypted_field, PROCEDURE = ef_ne,
	COMMUTATOR = <> , NEGATOR = = , RESTRICT = neqsel, JOIN = neqjoinsel);
COMMENT ON OPERATOR <> (encrypted_field, encrypted_field) IS 'different search terms';
CREATE OPERATOR < (LEFTARG = encrypted_field, RIGHTARG = encrypted_field, PROCEDURE = ef_lt,
	COMMUTATOR = > , NEGATOR = >= , RESTRICT = scalarltsel, JOIN = scalarltjoinsel);
COMMENT ON OPERATOR < (encrypted_field, encrypted_field) IS 'less than, in the arbitrary order of search terms';
CREATE OPERATOR <= (LEFTARG = encrypted_field, RIGHTARG = encrypted_field, PROCEDURE = ef_le,
	COMMUTATOR = >= , NEGATOR = > , RESTRICT = scalarlesel, JOIN = scalarlejoinsel);
COMMENT ON OPERATOR <= (encrypted_field, encrypted_field) IS 'less than or equal, in the arbitrary order of search terms';
CREATE OPERATOR > (LEFTARG = encrypted_field, RIGHTARG = encrypted_field, PROCEDURE = ef_gt,
	COMMUTATOR = < , NEGATOR = <= , RESTRICT = scalargtsel, JOIN = scalargtjoinsel);
COMMENT ON OPERATOR > (encrypted_field, encrypted_field) IS 'greater than, in the arbitrary order of search terms';
CREATE OPERATOR >= (LEFTARG = encrypted_field, RIGHTARG = encrypted_field, PROCEDURE = ef_ge,
	COMMUTATOR = <= , NEGATOR = < , RESTRICT = scalargesel, JOIN = scalargejoinsel);
COMMENT ON OPERATOR >= (encrypted_field, encrypted_field) IS 'greater than or equal, in the arbitrary order of search terms';

-- Between a value and a term: = finds values by a term, through an index,
-- and, as the families below order and hash values and terms alike (a
-- searchable value hashes as its term), joins values with stored terms by
-- hash or merge join; the order operators complete the btree family.
CREATE OPERATOR = (LEFTARG = encrypted_field, RIGHTARG = encrypted_field_term, PROCEDURE = ef_eq_term,
	COMMUTATOR = = , NEGATOR = <> , RESTRICT = eqsel, JOIN = eqjoinsel, HASHES, MERGES);
COMMENT ON OPERATOR = (encrypted_field, encrypted_field_term) IS 'a searchable value has this search term';
CREATE OPERATOR <> (LEFTARG = encrypted_field, RIGHTARG = encrypted_field_term, PROCEDURE = ef_ne_term,
	COMMUTATOR = <> , NEGATOR = = , RESTRICT = neqsel, JOIN = neqjoinsel);
COMMENT ON OPERATOR <> (encrypted_field, encrypted_field_term) IS 'a searchable value has another search term';
CREATE OPERATOR < (LEFTARG = encrypted_field, RIGHTARG = encrypted_field_term, PROCEDURE = ef_lt_term,
	COMMUTATOR = > , NEGATOR = >= , RESTRICT = scalarltsel, JOIN = scalarltjoinsel);
COMMENT ON OPERATOR < (encrypted_field, encrypted_field_term) IS 'less than, in the arbitrary order of search terms';
CREATE OPERATOR <= (LEFTARG = encrypted_field, RIGHTARG = encrypted_field_term, PROCEDURE = ef_le_term,
	COMMUTATOR = >= , NEGATOR = > , RESTRICT = scalarlesel, JOIN = scalarlejoinsel);
COMMENT ON OPERATOR <= (encrypted_field, encrypted_field_term) IS 'less than or equal, in the arbitrary order of search terms';
CREATE OPERATOR > (LEFTARG = encrypted_field, RIGHTARG = encrypted_field_term, PROCEDURE = ef_gt_term,
	COMMUTATOR = < , NEGATOR = <= , RESTRICT = scalargtsel, JOIN = scalargtjoinsel);
COMMENT ON OPERATOR > (encrypted_field, encrypted_field_term) IS 'greater than, in the arbitrary order of search terms';
CREATE OPERATOR >= (LEFTARG = encrypted_field, RIGHTARG = encrypted_field_term, PROCEDURE = ef_ge_term,
	COMMUTATOR = <= , NEGATOR = < , RESTRICT = scalargesel, JOIN = scalargejoinsel);
COMMENT ON OPERATOR >= (encrypted_field, encrypted_field_term) IS 'greater than or equal, in the arbitrary order of search terms';

CREATE OPERATOR = (LEFTARG = encrypted_field_term, RIGHTARG = encrypted_field, PROCEDURE = ef_term_eq,
	COMMUTATOR = = , NEGATOR = <> , RESTRICT = eqsel, JOIN = eqjoinsel, HASHES, MERGES);
COMMENT ON OPERATOR = (encrypted_field_term, encrypted_field) IS 'a search term of this searchable value';
CREATE OPERATOR <> (LEFTARG = encrypted_field_term, RIGHTARG = encrypted_field, PROCEDURE = ef_term_ne,
	COMMUTATOR = <> , NEGATOR = = , RESTRICT = neqsel, JOIN = neqjoinsel);
COMMENT ON OPERATOR <> (encrypted_field_term, encrypted_field) IS 'not a search term of this searchable value';
CREATE OPERATOR < (LEFTARG = encrypted_field_term, RIGHTARG = encrypted_field, PROCEDURE = ef_term_lt,
	COMMUTATOR = > , NEGATOR = >= , RESTRICT = scalarltsel, JOIN = scalarltjoinsel);
COMMENT ON OPERATOR < (encrypted_field_term, encrypted_field) IS 'less than, in the arbitrary order of search terms';
CREATE OPERATOR <= (LEFTARG = encrypted_field_term, RIGHTARG = encrypted_field, PROCEDURE = ef_term_le,
	COMMUTATOR = >= , NEGATOR = > , RESTRICT = scalarlesel, JOIN = scalarlejoinsel);
COMMENT ON OPERATOR <= (encrypted_field_term, encrypted_field) IS 'less than or equal, in the arbitrary order of search terms';
CREATE OPERATOR > (LEFTARG = encrypted_field_term, RIGHTARG = encrypted_field, PROCEDURE = ef_term_gt,
	COMMUTATOR = < , NEGATOR = <= , RESTRICT = scalargtsel, JOIN = scalargtjoinsel);
COMMENT ON OPERATOR > (encrypted_field_term, encrypted_field) IS 'greater than, in the arbitrary order of search terms';
CREATE OPERATOR >= (LEFTARG = encrypted_field_term, RIGHTARG = encrypted_field, PROCEDURE = ef_term_ge,
	COMMUTATOR = <= , NEGATOR = < , RESTRICT = scalargesel, JOIN = scalargejoinsel);
COMMENT ON OPERATOR >= (encrypted_field_term, encrypted_field) IS 'greater than or equal, in the arbitrary order of search terms';

-- between two terms, for DISTINCT, GROUP BY, ORDER BY, joins and indexes on
-- columns of terms
CREATE OPERATOR = (LEFTARG = encrypted_field_term, RIGHTARG = encrypted_field_term, PROCEDURE = ef_term_eq_term,
	COMMUTATOR = = , NEGATOR = <> , RESTRICT = eqsel, JOIN = eqjoinsel, HASHES, MERGES);
COMMENT ON OPERATOR = (encrypted_field_term, encrypted_field_term) IS 'equal search terms';
CREATE OPERATOR <> (LEFTARG = encrypted_field_term, RIGHTARG = encrypted_field_term, PROCEDURE = ef_term_ne_term,
	COMMUTATOR = <> , NEGATOR = = , RESTRICT = neqsel, JOIN = neqjoinsel);
COMMENT ON OPERATOR <> (encrypted_field_term, encrypted_field_term) IS 'different search terms';
CREATE OPERATOR < (LEFTARG = encrypted_field_term, RIGHTARG = encrypted_field_term, PROCEDURE = ef_term_lt_term,
	COMMUTATOR = > , NEGATOR = >= , RESTRICT = scalarltsel, JOIN = scalarltjoinsel);
COMMENT ON OPERATOR < (encrypted_field_term, encrypted_field_term) IS 'less than, in the arbitrary order of search terms';
CREATE OPERATOR <= (LEFTARG = encrypted_field_term, RIGHTARG = encrypted_field_term, PROCEDURE = ef_term_le_term,
	COMMUTATOR = >= , NEGATOR = > , RESTRICT = scalarlesel, JOIN = scalarlejoinsel);
COMMENT ON OPERATOR <= (encrypted_field_term, encrypted_field_term) IS 'less than or equal, in the arbitrary order of search terms';
CREATE OPERATOR > (LEFTARG = encrypted_field_term, RIGHTARG = encrypted_field_term, PROCEDURE = ef_term_gt_term,
	COMMUTATOR = < , NEGATOR = <= , RESTRICT = scalargtsel, JOIN = scalargtjoinsel);
COMMENT ON OPERATOR > (encrypted_field_term, encrypted_field_term) IS 'greater than, in the arbitrary order of search terms';
CREATE OPERATOR >= (LEFTARG = encrypted_field_term, RIGHTARG = encrypted_field_term, PROCEDURE = ef_term_ge_term,
	COMMUTATOR = <= , NEGATOR = < , RESTRICT = scalargesel, JOIN = scalargejoinsel);
COMMENT ON OPERATOR >= (encrypted_field_term, encrypted_field_term) IS 'greater than or equal, in the arbitrary order of search terms';

-- operator classes

-- One btree and one hash family hold values and terms, with every operator
-- between the two types in both directions and a support function for each
-- pair, so that amvalidate() accepts them: an index on values is searched
-- with a term, columns of terms sort, group and are indexed, values join
-- with stored terms, and hash partitioning uses the seeded hashes.
CREATE OPERATOR CLASS encrypted_field_ops DEFAULT FOR TYPE encrypted_field USING btree AS
	OPERATOR 1 < , OPERATOR 2 <= , OPERATOR 3 = , OPERATOR 4 >= , OPERATOR 5 > ,
	FUNCTION 1 ef_cmp(encrypted_field, encrypted_field);
COMMENT ON OPERATOR CLASS encrypted_field_ops USING btree IS 'the order of searchable values by search term';
COMMENT ON OPERATOR FAMILY encrypted_field_ops USING btree IS 'the order of searchable values and search terms by search term';
-- Two terms are equal only if their bytes are, so a btree on terms may
-- deduplicate (btequalimage).  Two searchable values with the same term
-- have different envelopes, so one on values must not.
CREATE OPERATOR CLASS encrypted_field_term_ops DEFAULT FOR TYPE encrypted_field_term
	USING btree FAMILY encrypted_field_ops AS
	OPERATOR 1 < , OPERATOR 2 <= , OPERATOR 3 = , OPERATOR 4 >= , OPERATOR 5 > ,
	FUNCTION 1 ef_term_cmp_term(encrypted_field_term, encrypted_field_term),
	FUNCTION 4 btequalimage(oid);
COMMENT ON OPERATOR CLASS encrypted_field_term_ops USING btree IS 'the order of search terms';
-- a btree scan also sorts the terms of c = ANY(ef_terms(x)) with
-- ef_term_cmp_term
ALTER OPERATOR FAMILY encrypted_field_ops USING btree ADD
	OPERATOR 1 < (encrypted_field, encrypted_field_term),
	OPERATOR 2 <= (encrypted_field, encrypted_field_term),
	OPERATOR 3 = (encrypted_field, encrypted_field_term),
	OPERATOR 4 >= (encrypted_field, encrypted_field_term),
	OPERATOR 5 > (encrypted_field, encrypted_field_term),
	FUNCTION 1 (encrypted_field, encrypted_field_term) ef_cmp_term(encrypted_field, encrypted_field_term),
	OPERATOR 1 < (encrypted_field_term, encrypted_field),
	OPERATOR 2 <= (encrypted_field_term, encrypted_field),
	OPERATOR 3 = (encrypted_field_term, encrypted_field),
	OPERATOR 4 >= (encrypted_field_term, encrypted_field),
	OPERATOR 5 > (encrypted_field_term, encrypted_field),
	FUNCTION 1 (encrypted_field_term, encrypted_field) ef_term_cmp(encrypted_field_term, encrypted_field);

CREATE OPERATOR CLASS encrypted_field_ops DEFAULT FOR TYPE encrypted_field USING hash AS
	OPERATOR 1 = , FUNCTION 1 ef_hash(encrypted_field),
	FUNCTION 2 ef_hash_extended(encrypted_field, bigint);
COMMENT ON OPERATOR CLASS encrypted_field_ops USING hash IS 'the hash of searchable values by search term';
COMMENT ON OPERATOR FAMILY encrypted_field_ops USING hash IS 'the hash of searchable values and search terms by search term';
CREATE OPERATOR CLASS encrypted_field_term_ops DEFAULT FOR TYPE encrypted_field_term
	USING hash FAMILY encrypted_field_ops AS
	OPERATOR 1 = , FUNCTION 1 ef_term_hash(encrypted_field_term),
	FUNCTION 2 ef_term_hash_extended(encrypted_field_term, bigint);
COMMENT ON OPERATOR CLASS encrypted_field_term_ops USING hash IS 'the hash of search terms';
ALTER OPERATOR FAMILY encrypted_field_ops USING hash ADD
	OPERATOR 1 = (encrypted_field, encrypted_field_term),
	OPERATOR 1 = (encrypted_field_term, encrypted_field);

-- privileges

-- Registering and retiring keys and rotating the index key are for key
-- administrators only.  Grant them EXECUTE on these functions, INSERT,
-- UPDATE on ef_keys and INSERT on ef_index_keys.
REVOKE ALL ON FUNCTION ef_register_key(integer, bytea, text, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION ef_retire_key(integer) FROM PUBLIC;
REVOKE ALL ON FUNCTION ef_rotate_index_key(text) FROM PUBLIC;

-- The registry holds no secret: check values, ids, dates.  Every role may read
-- it, which ef_unlock() needs; only its owner may change it.
REVOKE ALL ON TABLE ef_keys FROM PUBLIC;
GRANT SELECT ON TABLE ef_keys TO PUBLIC;
-- index keys are wrapped under master keys: readable, like the check values
REVOKE ALL ON TABLE ef_index_keys FROM PUBLIC;
GRANT SELECT ON TABLE ef_index_keys TO PUBLIC;
