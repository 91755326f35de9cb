-- Transparent access: a view that decrypts for sessions holding the key and
-- encrypts what is written through it, with values bound to their rows.
SELECT ef_unlock(1);
CREATE TABLE patients (id int PRIMARY KEY, admitted date, name encrypted_field, diagnosis encrypted_field);
CREATE UNIQUE INDEX ON patients (name);
SELECT ef_create_view('patients', key_column => 'id', searchable_columns => ARRAY['name']::name[]);
\d patients_decrypted

INSERT INTO patients_decrypted VALUES (1, '2024-01-02', 'Ada Lovelace', 'fine'), (2, '2024-02-03', 'Alan Turing', 'tired');
SELECT * FROM patients_decrypted ORDER BY id;
-- the table holds ciphertext bound to each row: context 'public.patients.<column>.<id>'
SELECT id, ef_key_id(name), ef_decrypt(diagnosis, 'public.patients.diagnosis.' || id) FROM patients ORDER BY id;
SELECT id FROM patients WHERE name = ef_term('Alan Turing', 'patients.name');

UPDATE patients_decrypted SET diagnosis = 'recovered' WHERE id = 2;
-- an unchanged column keeps its ciphertext
CREATE TABLE before AS SELECT id, ef_send(name) AS name_bytes FROM patients;
UPDATE patients_decrypted SET admitted = '2024-02-04' WHERE id = 2;
SELECT count(*) AS unchanged_names FROM patients p JOIN before b USING (id) WHERE ef_send(p.name) = b.name_bytes;
DELETE FROM patients_decrypted WHERE id = 1;
SELECT * FROM patients_decrypted ORDER BY id;
-- the unique index on the searchable column applies through the view
-- (terse: the error's detail shows the random ciphertext)
\set VERBOSITY terse
INSERT INTO patients_decrypted VALUES (3, '2024-03-01', 'Alan Turing', 'new');
\set VERBOSITY default

-- without a key: metadata through the view, a clear error for content
SELECT ef_lock();
SELECT id, admitted FROM patients_decrypted ORDER BY id;
SELECT name FROM patients_decrypted;

-- a view without a key column inserts, but cannot update or delete
-- (ef_lock() forgot the keys given at connection start: connect again)
\c
SELECT ef_unlock(1);
CREATE TABLE notes (body encrypted_field);
SELECT ef_create_view('notes', 'notes_view');
INSERT INTO notes_view VALUES ('hello');
SELECT * FROM notes_view;
UPDATE notes_view SET body = 'x';
-- Negative tests
SELECT ef_create_view('notes', 'v2', key_column => 'nosuch');
SELECT ef_create_view('patients', 'v3', searchable_columns => ARRAY['admitted']::name[]);
-- a NULL table or list of searchable columns is refused with its own error
-- (a NULL view name or key column means the default)
SELECT ef_create_view(NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT ef_create_view(NULL, 'v4', 'id', '{}');
SELECT ef_create_view('notes', 'v5', searchable_columns => NULL);
\echo :LAST_ERROR_SQLSTATE

DROP VIEW patients_decrypted, notes_view;
DROP FUNCTION patients_decrypted_write(), notes_view_write();
DROP TABLE patients, notes, before;
SELECT ef_lock();
