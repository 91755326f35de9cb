-- complain if script is sourced in psql, rather than via ALTER EXTENSION
\echo Use "ALTER EXTENSION encrypted_field UPDATE TO '0.2.0'" to load this file. \quit

-- 0.2.0 adds functions and changes no stored format: values written by
-- 0.1.0 are read as they are.

CREATE FUNCTION ef_is_searchable(value encrypted_field) RETURNS boolean
	AS 'MODULE_PATHNAME', 'ef_is_searchable' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION ef_is_searchable(encrypted_field) IS 'whether a value carries a search term, readable with no key held';

CREATE FUNCTION ef_rotate_index_key() RETURNS integer
	AS 'MODULE_PATHNAME', 'ef_rotate_index_key' LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION ef_rotate_index_key() IS 'create a new index key for search terms, wrapped under every held master key';

-- the terms of a value under every index key held, newest first: while
-- values move to a rotated index key, c = ANY(ef_terms(x)) finds them all
CREATE FUNCTION ef_terms(value anyelement, search_domain text DEFAULT NULL,
	search_normalize text DEFAULT 'exact') RETURNS encrypted_field_term[]
	AS 'MODULE_PATHNAME', 'ef_terms' LANGUAGE C STABLE PARALLEL RESTRICTED;
COMMENT ON FUNCTION ef_terms(anyelement, text, text) IS 'the search terms of a value under every index key held, newest first';

CREATE FUNCTION ef_terms(value text, search_domain text DEFAULT NULL,
	search_normalize text DEFAULT 'exact') RETURNS encrypted_field_term[]
	AS 'MODULE_PATHNAME', 'ef_terms' LANGUAGE C STABLE PARALLEL RESTRICTED;
COMMENT ON FUNCTION ef_terms(text, text, text) IS 'the search terms of a text value under every index key held';

CREATE FUNCTION ef_terms(value varchar, search_domain text DEFAULT NULL,
	search_normalize text DEFAULT 'exact') RETURNS encrypted_field_term[]
	AS 'MODULE_PATHNAME', 'ef_terms' LANGUAGE C STABLE PARALLEL RESTRICTED;
COMMENT ON FUNCTION ef_terms(varchar, text, text) IS 'the search terms of a varchar value under every index key held';

CREATE FUNCTION ef_terms(value character, search_domain text DEFAULT NULL,
	search_normalize text DEFAULT 'exact') RETURNS encrypted_field_term[]
	AS 'MODULE_PATHNAME', 'ef_terms' LANGUAGE C STABLE PARALLEL RESTRICTED;
COMMENT ON FUNCTION ef_terms(character, text, text) IS 'the search terms of a char(n) value under every index key held';

CREATE FUNCTION ef_index_key_id(value encrypted_field) RETURNS integer
	AS 'MODULE_PATHNAME', 'ef_index_key_id' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION ef_index_key_id(encrypted_field) IS 'id of the index key a value''s search term was made with, readable with no key held';

CREATE FUNCTION ef_term_cmp(encrypted_field_term, encrypted_field_term) RETURNS integer
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION ef_term_cmp(encrypted_field_term, encrypted_field_term) IS 'btree support: order two terms';

-- a btree scan sorts the terms of c = ANY(ef_terms(x)) with this
ALTER OPERATOR FAMILY encrypted_field_ops USING btree ADD
	FUNCTION 1 (encrypted_field_term, encrypted_field_term) ef_term_cmp(encrypted_field_term, encrypted_field_term);

REVOKE ALL ON FUNCTION ef_rotate_index_key() FROM PUBLIC;
