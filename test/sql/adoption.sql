-- Adopting encryption on a table that already holds plaintext: the column
-- is encrypted in committed batches, an interruption loses nothing, and a
-- second run finishes.
SELECT ef_unlock(1);
CREATE TABLE customers (id int PRIMARY KEY, email text, note text);
INSERT INTO customers SELECT g, 'user' || g || '@example.com', CASE WHEN g % 5 = 0 THEN NULL ELSE 'note ' || g END
FROM generate_series(1, 25) g;

-- an interruption: a trigger fails the second batch
CREATE FUNCTION fail_on_15() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF NEW.id = 15 THEN RAISE EXCEPTION 'interrupted at row 15'; END IF;
	RETURN NEW;
END $$;
CREATE TRIGGER interrupt BEFORE UPDATE ON customers FOR EACH ROW EXECUTE FUNCTION fail_on_15();
CALL ef_encrypt_column('customers', 'email', context_expr => $$'customers.email.' || id$$,
	searchable => true, search_domain => 'customers.email', batch_size => 10);
DROP TRIGGER interrupt ON customers;
SELECT count(email) AS plain, count(email_encrypted) AS encrypted FROM customers;
-- what committed decrypts to its plaintext
SELECT count(*) AS matching FROM customers
WHERE email_encrypted IS NOT NULL AND ef_decrypt(email_encrypted, 'customers.email.' || id) = email;

-- resumed, it finishes and checks the counts
CALL ef_encrypt_column('customers', 'email', context_expr => $$'customers.email.' || id$$,
	searchable => true, search_domain => 'customers.email', batch_size => 10);
SELECT count(*) AS matching FROM customers WHERE ef_decrypt(email_encrypted, 'customers.email.' || id) = email;
SELECT id FROM customers WHERE email_encrypted = ef_term('user7@example.com', 'customers.email');

-- NULLs stay NULL; a named target column; no context
CALL ef_encrypt_column('customers', 'note', 'note_secret');
SELECT count(note) AS plain, count(note_secret) AS encrypted,
	count(*) FILTER (WHERE ef_decrypt(note_secret) = note) AS matching FROM customers;

-- switching reads and dropping the plaintext is the application's step
ALTER TABLE customers DROP COLUMN email;
ALTER TABLE customers RENAME COLUMN email_encrypted TO email;
SELECT ef_decrypt(email, 'customers.email.' || id) FROM customers WHERE id = 3;

-- Negative tests
CALL ef_encrypt_column('customers', 'nosuch');
CALL ef_encrypt_column('customers', 'note', 'id');
CALL ef_encrypt_column('customers', 'note', batch_size => 0);
SELECT ef_lock();
CALL ef_encrypt_column('customers', 'note', 'note_again');
DROP TABLE customers;
DROP FUNCTION fail_on_15();
