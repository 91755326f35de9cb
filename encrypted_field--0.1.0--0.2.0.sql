-- complain if script is sourced in psql, rather than via ALTER EXTENSION
\echo Use "ALTER EXTENSION encrypted_field UPDATE TO '0.2.0'" to load this file. \quit

-- 0.2.0 adds a function and changes no stored format: values written by
-- 0.1.0 are read as they are.

CREATE FUNCTION ef_is_searchable(value encrypted_field) RETURNS boolean
	AS 'MODULE_PATHNAME', 'ef_is_searchable' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION ef_is_searchable(encrypted_field) IS 'whether a value carries a search term, readable with no key held';
