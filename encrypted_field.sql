-- complain if script is sourced in psql, rather than via CREATE EXTENSION
\echo Use "CREATE EXTENSION encrypted_field" to load this file. \quit

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

-- ciphertext does not compress, so TOAST should not try
CREATE TYPE encrypted_field (
	INPUT = ef_in,
	OUTPUT = ef_out,
	RECEIVE = ef_recv,
	SEND = ef_send,
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
	tag bytea
);
COMMENT ON TYPE encrypted_field_envelope IS 'the parts of an encrypted_field envelope';

-- key registry: check values only, never keys

CREATE TABLE ef_keys (
	key_id integer PRIMARY KEY CHECK (key_id > 0),
	fingerprint bytea NOT NULL CHECK (pg_catalog.octet_length(fingerprint) = 16),
	created_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
	retired_at timestamptz,
	comment text
);
COMMENT ON TABLE ef_keys IS 'registered master keys: id, check value, dates and comment, never the key';
SELECT pg_catalog.pg_extension_config_dump('ef_keys', '');

-- functions

CREATE FUNCTION ef_register_key(key_id integer, master_key bytea, comment text DEFAULT NULL)
	RETURNS void
	AS 'MODULE_PATHNAME', 'ef_register_key' LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION ef_register_key(integer, bytea, text) IS 'record a master key''s check value in the registry; the key is not stored';

CREATE FUNCTION ef_retire_key(key_id integer) RETURNS void
	AS 'MODULE_PATHNAME', 'ef_retire_key' LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE;
COMMENT ON FUNCTION ef_retire_key(integer) IS 'mark a master key retired: it decrypts but encrypts no new values';

CREATE FUNCTION ef_unlock(key_id integer, master_key bytea, scope text DEFAULT 'session')
	RETURNS void
	AS 'MODULE_PATHNAME', 'ef_unlock' LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION ef_unlock(integer, bytea, text) IS 'check a master key against the registry and hold it in this session or transaction';

CREATE FUNCTION ef_lock() RETURNS integer
	AS 'MODULE_PATHNAME', 'ef_lock' LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION ef_lock() IS 'forget and wipe every master key this session holds';

CREATE FUNCTION ef_held_keys(OUT key_id integer, OUT scope text, OUT is_current boolean,
	OUT retired boolean, OUT unlocked_at timestamptz)
	RETURNS SETOF record
	AS 'MODULE_PATHNAME', 'ef_held_keys' LANGUAGE C VOLATILE PARALLEL RESTRICTED;
COMMENT ON FUNCTION ef_held_keys() IS 'the master key ids this session holds, never the keys';

-- Functions that read the keys held by this backend are PARALLEL RESTRICTED:
-- parallel workers are separate processes that never receive the keys, so
-- these must run in the leader.
CREATE FUNCTION ef_encrypt(value anyelement, context text DEFAULT NULL,
	searchable boolean DEFAULT false, key_id integer DEFAULT NULL)
	RETURNS encrypted_field
	AS 'MODULE_PATHNAME', 'ef_encrypt' LANGUAGE C VOLATILE PARALLEL RESTRICTED;
COMMENT ON FUNCTION ef_encrypt(anyelement, text, boolean, integer) IS 'encrypt a value under a fresh data key wrapped by a held master key';

-- an untyped literal resolves to this overload, as text
CREATE FUNCTION ef_encrypt(value text, context text DEFAULT NULL,
	searchable boolean DEFAULT false, key_id integer DEFAULT NULL)
	RETURNS encrypted_field
	AS 'MODULE_PATHNAME', 'ef_encrypt' LANGUAGE C VOLATILE PARALLEL RESTRICTED;
COMMENT ON FUNCTION ef_encrypt(text, text, boolean, integer) IS 'encrypt text under a fresh data key wrapped by a held master key';

CREATE FUNCTION ef_decrypt(value encrypted_field, context text DEFAULT NULL) RETURNS text
	AS 'MODULE_PATHNAME', 'ef_decrypt' LANGUAGE C STABLE PARALLEL RESTRICTED;
COMMENT ON FUNCTION ef_decrypt(encrypted_field, text) IS 'decrypt a value to text with a held master key';

CREATE FUNCTION ef_decrypt_as(value encrypted_field, as_type anyelement, context text DEFAULT NULL)
	RETURNS anyelement
	AS 'MODULE_PATHNAME', 'ef_decrypt_as' LANGUAGE C STABLE PARALLEL RESTRICTED;
COMMENT ON FUNCTION ef_decrypt_as(encrypted_field, anyelement, text) IS 'decrypt a value to the type of as_type, which must be the type it was encrypted from';

CREATE FUNCTION ef_rewrap(value encrypted_field, key_id integer DEFAULT NULL)
	RETURNS encrypted_field
	AS 'MODULE_PATHNAME', 'ef_rewrap' LANGUAGE C STABLE PARALLEL RESTRICTED;
COMMENT ON FUNCTION ef_rewrap(encrypted_field, integer) IS 're-wrap a value''s data key under another held master key; content bytes unchanged';

CREATE FUNCTION ef_key_id(value encrypted_field) RETURNS integer
	AS 'MODULE_PATHNAME', 'ef_key_id' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION ef_key_id(encrypted_field) IS 'master key id of a value, readable with no key held';

CREATE FUNCTION ef_envelope(value encrypted_field) RETURNS encrypted_field_envelope
	AS 'MODULE_PATHNAME', 'ef_envelope' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION ef_envelope(encrypted_field) IS 'the parts of a value''s envelope, readable with no key held';

-- privileges

-- Registering and retiring keys is for key administrators only.  Grant them
-- EXECUTE on these functions and INSERT, UPDATE on ef_keys.
REVOKE ALL ON FUNCTION ef_register_key(integer, bytea, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION ef_retire_key(integer) FROM PUBLIC;

-- The registry holds no secret: check values, ids, dates.  Every role may read
-- it, which ef_unlock() needs; only its owner may change it.
REVOKE ALL ON TABLE ef_keys FROM PUBLIC;
GRANT SELECT ON TABLE ef_keys TO PUBLIC;
