-- Least privilege: who may register and retire keys, unlock, read the registry.
CREATE ROLE ef_app LOGIN;
CREATE ROLE ef_key_admin LOGIN;
GRANT EXECUTE ON FUNCTION ef_register_key(integer, bytea, text), ef_retire_key(integer) TO ef_key_admin;
GRANT INSERT, UPDATE ON ef_keys TO ef_key_admin;
GRANT INSERT ON ef_index_keys TO ef_key_admin;

CREATE TABLE secrets (id int, v encrypted_field);
GRANT SELECT, INSERT ON secrets TO ef_app;

SET ROLE ef_app;
-- an application role may read the registry, unlock, encrypt and decrypt
SELECT key_id, comment FROM ef_keys ORDER BY key_id;
SELECT ef_unlock(1, test_key(1));
INSERT INTO secrets VALUES (1, ef_encrypt('app data'));
SELECT ef_decrypt(v) FROM secrets;
SELECT key_id FROM ef_held_keys();
SELECT ef_lock();
-- Negative tests: it may not register or retire keys, nor change the registry
SELECT ef_register_key(20, test_key(20));
SELECT ef_retire_key(1);
INSERT INTO ef_keys (key_id, fingerprint) VALUES (21, '\x00000000000000000000000000000000');
INSERT INTO ef_index_keys (index_key_id, key_id, wrapped_key) SELECT 2, 1, wrapped_key FROM ef_index_keys LIMIT 1;
UPDATE ef_keys SET retired_at = now() WHERE key_id = 1;
DELETE FROM ef_keys WHERE key_id = 1;
RESET ROLE;

-- a key administrator registers and retires keys
SET ROLE ef_key_admin;
SELECT ef_unlock(1, test_key(1));
SELECT ef_register_key(20, test_key(20), 'registered by the key admin');
SELECT ef_lock();
SELECT ef_retire_key(20);
-- Negative tests: registering does not let it delete from the registry
DELETE FROM ef_keys WHERE key_id = 20;
RESET ROLE;
SELECT key_id, retired_at IS NOT NULL AS retired, comment FROM ef_keys WHERE key_id = 20;

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
REVOKE ALL ON FUNCTION ef_register_key(integer, bytea, text), ef_retire_key(integer) FROM ef_key_admin;
DROP ROLE ef_app;
DROP ROLE ef_key_admin;
