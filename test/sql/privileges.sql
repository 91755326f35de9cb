-- Least privilege: who may register and retire keys, unlock, read the registry.
CREATE ROLE ef_app LOGIN;
CREATE ROLE ef_key_admin LOGIN;
GRANT EXECUTE ON FUNCTION ef_register_key(integer, bytea, text, text), ef_retire_key(integer) TO ef_key_admin;
GRANT INSERT, UPDATE (retired_at) ON ef_keys TO ef_key_admin;
GRANT INSERT ON ef_index_keys TO ef_key_admin;
-- keys given at connection start need the library loaded as the session
-- starts; only a superuser may ask for that in the connection's options, so
-- these roles have it set
ALTER ROLE ef_app SET session_preload_libraries = 'encrypted_field';
ALTER ROLE ef_key_admin SET session_preload_libraries = 'encrypted_field';

CREATE TABLE secrets (id int, v encrypted_field);
GRANT SELECT, INSERT ON secrets TO ef_app;
GRANT SELECT ON secrets TO ef_key_admin;

-- Each role connects with its own keys (psql 15 cannot bind a key); psql
-- reads the hex from test/keys.sh and puts it only into the options
\getenv ef_options PGOPTIONS
\set test_user :USER
\set test_keys 'user=' :test_user ' options=''' :ef_options ''''
\set key1 `sh test/keys.sh hex regress 1`
\set key20 `sh test/keys.sh hex regress 20`
\set app 'user=ef_app options=''-c encrypted_field.keys=1:' :key1 ''''
\set key_admin 'user=ef_key_admin options=''-c encrypted_field.keys=1:' :key1 ',20:' :key20 ''''

-- Negative tests: a key given at connection start serves the role that
-- connected (and roles with its privileges), not a role set after
SET ROLE ef_app;
SELECT ef_unlock(1);
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) AS held FROM ef_held_keys();
RESET ROLE;
SET SESSION AUTHORIZATION ef_app;
SELECT ef_unlock(1);
\echo :LAST_ERROR_SQLSTATE
RESET SESSION AUTHORIZATION;

\c -reuse-previous=on :app
SELECT current_user;
-- an application role may read the registry, unlock, encrypt and decrypt
SELECT key_id, comment FROM ef_keys ORDER BY key_id;
SELECT ef_unlock(1);
INSERT INTO secrets VALUES (1, ef_encrypt('app data'));
SELECT ef_decrypt(v) FROM secrets;
SELECT key_id FROM ef_held_keys();
SELECT ef_lock();
-- Negative tests: it may not register or retire keys, nor change the registry
SELECT ef_register_key(20);
SELECT ef_retire_key(1);
INSERT INTO ef_keys (key_id, fingerprint) VALUES (21, '\x00000000000000000000000000000000');
INSERT INTO ef_index_keys (index_key_id, key_id, wrapped_key) SELECT 2, 1, wrapped_key FROM ef_index_keys LIMIT 1;
UPDATE ef_keys SET retired_at = now() WHERE key_id = 1;
DELETE FROM ef_keys WHERE key_id = 1;

-- a key administrator registers and retires keys
\c -reuse-previous=on :key_admin
SELECT current_user;
SELECT ef_unlock(1);
SELECT ef_register_key(20, comment => 'registered by the key admin');
SELECT ef_lock();
SELECT ef_retire_key(20);
-- Negative tests: registering does not let it delete from the registry
DELETE FROM ef_keys WHERE key_id = 20;
\c -reuse-previous=on :test_keys
SELECT current_user = :'test_user' AS back_as_test_user;
SELECT key_id, retired_at IS NOT NULL AS retired, comment FROM ef_keys WHERE key_id = 20;

-- A held key serves the role that unlocked it and the roles with its
-- privileges, never code running as another role
CREATE FUNCTION read_secrets() RETURNS SETOF text LANGUAGE sql SECURITY DEFINER
	AS $$ SELECT ef_decrypt(v) FROM secrets $$;
CREATE FUNCTION read_secrets_as_key_admin() RETURNS SETOF text LANGUAGE sql SECURITY DEFINER
	AS $$ SELECT ef_decrypt(v) FROM secrets $$;
ALTER FUNCTION read_secrets_as_key_admin() OWNER TO ef_key_admin;
SELECT ef_unlock(1);
-- Negative tests: SET ROLE to a role without the unlocking role's privileges
SET ROLE ef_app;
SELECT count(*) AS held FROM ef_held_keys();
SELECT ef_decrypt(v) FROM secrets;
\echo :LAST_ERROR_SQLSTATE
SELECT ef_encrypt('x');
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
-- ... and a SECURITY DEFINER function of such a role
SELECT * FROM read_secrets_as_key_admin();
\echo :LAST_ERROR_SQLSTATE
SELECT ef_lock();
-- a key ef_app unlocked serves a function of the superuser, who has every
-- role's privileges, but not one of the key administrator
\c -reuse-previous=on :app
SELECT ef_unlock(1);
SELECT * FROM read_secrets();
SELECT * FROM read_secrets_as_key_admin();
\echo :LAST_ERROR_SQLSTATE
SELECT ef_lock();
\c -reuse-previous=on :test_keys
DROP FUNCTION read_secrets(), read_secrets_as_key_admin();

-- the inventory of grants on the key functions
SELECT p.proname, has_function_privilege('ef_app', p.oid, 'EXECUTE') AS app_may_execute
FROM pg_proc p JOIN pg_depend d ON d.objid = p.oid AND d.classid = 'pg_proc'::regclass
JOIN pg_extension x ON x.oid = d.refobjid AND x.extname = 'encrypted_field'
WHERE p.proname IN ('ef_register_key', 'ef_retire_key', 'ef_unlock', 'ef_lock',
	'ef_encrypt', 'ef_decrypt', 'ef_held_keys')
GROUP BY p.proname, 2 ORDER BY 1;

DELETE FROM ef_index_keys WHERE key_id = 20;
DELETE FROM ef_keys WHERE key_id = 20;
DROP TABLE secrets;
REVOKE ALL ON ef_keys FROM ef_key_admin;
REVOKE ALL ON ef_index_keys FROM ef_key_admin;
REVOKE ALL ON FUNCTION ef_register_key(integer, bytea, text, text), ef_retire_key(integer) FROM ef_key_admin;
DROP ROLE ef_app;
DROP ROLE ef_key_admin;
