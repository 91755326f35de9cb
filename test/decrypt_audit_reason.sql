-- The reason requirement of ef_unlock (encrypted_field.require_reason) and
-- the audit settings: who may change them, which values they take, and the
-- SQLSTATE and text of each refusal, which are part of the interface.  The
-- audit lines themselves are read in test/t/060_decrypt_audit.pl.
--
-- The session was given the tap keys at connection start
-- (test/t/001_pgtap.pl); ef_unlock(1) takes key 1 from there.  The unlocks
-- are let go of by rolling back to a savepoint.
\set ON_ERROR_ROLLBACK 1
\set ON_ERROR_STOP true

BEGIN;
SELECT plan(20);

CREATE EXTENSION encrypted_field;
SELECT ef_register_key(1);

-- ---------------------------------------------------------------------------
-- the settings
-- ---------------------------------------------------------------------------
SELECT is(current_setting('encrypted_field.audit'), 'statement', 'the audit level is statement by default');
SELECT is(current_setting('encrypted_field.require_reason'), 'off', 'no reason is required by default');
SELECT is((SELECT context FROM pg_settings WHERE name = 'encrypted_field.audit'), 'superuser',
	'only a superuser (or a role granted SET on it) changes the audit level');
SELECT is((SELECT context FROM pg_settings WHERE name = 'encrypted_field.require_reason'), 'superuser',
	'only a superuser (or a role granted SET on it) changes the reason requirement');
SELECT throws_ok($$SET encrypted_field.audit = 'everything'$$, '22023',
	'invalid value for parameter "encrypted_field.audit": "everything"',
	'the audit level is off, unlock or statement');
SELECT throws_ok($$SET encrypted_field.require_reason = 'some'$$, '22023',
	'invalid value for parameter "encrypted_field.require_reason": "some"',
	'the reason requirement is off, all or a list of key ids');
SELECT throws_ok($$SET encrypted_field.require_reason = '1, 0'$$, '22023', NULL,
	'key ids in the reason requirement are positive');

-- at most 64 key ids (MAX_REQUIRED_IDS); the text of the 65th's refusal is
-- in its detail, which throws_ok does not read
CREATE FUNCTION set_error(setting text, OUT state text, OUT message text, OUT detail text)
LANGUAGE plpgsql AS $f$
BEGIN
	EXECUTE setting;
EXCEPTION WHEN OTHERS THEN
	GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, message = MESSAGE_TEXT, detail = PG_EXCEPTION_DETAIL;
END $f$;
SAVEPOINT ids;
SELECT lives_ok(format('SET LOCAL encrypted_field.require_reason = %L',
		(SELECT string_agg(g::text, ',') FROM generate_series(1, 64) g)),
	'the reason requirement takes a list of 64 key ids');
ROLLBACK TO SAVEPOINT ids;
SELECT results_eq(format($q$SELECT * FROM set_error(format('SET encrypted_field.require_reason = %%L', %L))$q$,
		(SELECT string_agg(g::text, ',') FROM generate_series(1, 65) g)),
	format($q$VALUES ('22023', %L, 'At most 64 key ids can be listed; use "all".')$q$,
		'invalid value for parameter "encrypted_field.require_reason": "'
		|| (SELECT string_agg(g::text, ',') FROM generate_series(1, 65) g) || '"'),
	'a list of 65 key ids is refused: 22023, with the limit in the detail');

CREATE ROLE ef_tap_reason_user;
SET ROLE ef_tap_reason_user;
SELECT throws_ok($$SET encrypted_field.audit = off$$, '42501',
	'permission denied to set parameter "encrypted_field.audit"',
	'a role without the privilege cannot turn the audit off');
SELECT throws_ok($$SET encrypted_field.require_reason = off$$, '42501',
	'permission denied to set parameter "encrypted_field.require_reason"',
	'nor the reason requirement');
RESET ROLE;

-- ---------------------------------------------------------------------------
-- the requirement
-- ---------------------------------------------------------------------------
SAVEPOINT keys;
SET LOCAL encrypted_field.require_reason = 'all';
SELECT throws_ok($$SELECT ef_unlock(1)$$, '22004', 'a reason is required to unlock master key 1',
	'require_reason = all: an unlock without a reason is refused');
SELECT throws_ok($$SELECT ef_unlock(1, reason => '  ')$$, '22004', 'a reason is required to unlock master key 1',
	'a blank reason is no reason');
SELECT throws_ok(format($q$SELECT ef_unlock(1, reason => %L)$q$, chr(160) || chr(12288) || chr(8203)), '22004',
	'a reason is required to unlock master key 1',
	'a reason of Unicode spaces (no-break, ideographic, zero-width) is no reason');
SELECT throws_ok($$SELECT ef_unlock(1, NULL, 'session', NULL)$$, '22004', 'a reason is required to unlock master key 1',
	'a null reason is no reason');
SELECT lives_ok($$SELECT ef_unlock(1, reason => 'TICKET-1')$$, 'with a reason, the unlock succeeds');
SELECT is((SELECT count(*)::int FROM ef_held_keys() WHERE key_id = 1), 1, 'and the key is held');
ROLLBACK TO SAVEPOINT keys;

SAVEPOINT keys;
SET LOCAL encrypted_field.require_reason = '2, 3';
SELECT lives_ok($$SELECT ef_unlock(1)$$, 'require_reason = 2, 3: key 1 unlocks without a reason');
ROLLBACK TO SAVEPOINT keys;

SAVEPOINT keys;
SET LOCAL encrypted_field.require_reason = '3,1';
SELECT throws_ok($$SELECT ef_unlock(1, NULL, 'transaction')$$, '22004',
	'a reason is required to unlock master key 1', 'require_reason = 3,1: key 1 needs one');
ROLLBACK TO SAVEPOINT keys;

SELECT throws_ok(format('SELECT ef_unlock(1, reason => %L)', repeat('x', 201)), '22023',
	'reason must be at most 200 bytes long', 'a reason is at most 200 bytes long');

SELECT * FROM finish();
ROLLBACK;
