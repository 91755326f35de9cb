// Copyright (c) 2026, The encrypted_field Authors
// Unlock through node-postgres, which sends parameters with the extended
// protocol.
// Usage: node node_client.js steps KEYHEX WRONGHEX DECOYHEX | loop KEYHEX N
// DECOYHEX is a key that is never registered, written into SQL text to see
// it refused.
// Connects with the libpq environment (PGHOST, PGPORT, PGDATABASE, PGUSER).
// Exits 1 if a step did not end as expected.
const { Client } = require('pg');

let failures = 0;

async function expect(name, fn, sqlstate) {
	let got = null;
	try {
		await fn();
	} catch (e) {
		got = e.code || String(e);
	}
	console.log(`node: ${name}: ${got || 'ok'}`);
	if (got !== (sqlstate || null)) {
		console.log(`node: ${name}: expected ${sqlstate || 'ok'}`);
		failures++;
	}
}

async function expectHeld(client, name, n) {
	const r = await client.query('SELECT count(*)::int AS n FROM ef_held_keys()');
	console.log(`node: ${name}: ${r.rows[0].n} key(s) held`);
	if (r.rows[0].n !== n) failures++;
}

async function steps(client, key, wrong, decoy) {
	await expect('unlock, parameter', () => client.query('SELECT ef_unlock(1, $1)', [key]));
	await expectHeld(client, 'after the unlock', 1);
	await client.query('SELECT ef_lock()');
	for (const i of [0, 1])
		await expect(`unlock, named prepared statement ${i}`, () =>
			client.query({ name: 'unlock', text: 'SELECT ef_unlock($1, $2)', values: [1, key] }));
	const p = await client.query('SELECT name, statement FROM pg_prepared_statements');
	for (const row of p.rows) console.log(`prepared: ${row.name} ${row.statement}`);
	await client.query('SELECT ef_lock()');
	await expect('unlock through a wrapper', () => client.query('SELECT app_unlock($1)', [key]));
	await client.query('SELECT ef_lock()');
	await client.query('BEGIN');
	await expect('unlock, transaction scope', () =>
		client.query("SELECT ef_unlock(1, $1, 'transaction')", [key]));
	await expectHeld(client, 'in the transaction', 1);
	await client.query('COMMIT');
	await expectHeld(client, 'after the transaction', 0);
	const e = await client.query('EXPLAIN (ANALYZE, VERBOSE) SELECT ef_unlock(1, $1)', [key]);
	for (const row of e.rows) console.log(`explain: ${row['QUERY PLAN']}`);
	await client.query('SELECT ef_lock()');
	await expect('unlock, wrong key', () => client.query('SELECT ef_unlock(1, $1)', [wrong]), '28P01');
	await expect('a key written into the text', () =>
		client.query(`SELECT ef_unlock(1, '\\x${decoy.toString('hex')}'::bytea)`), '28EF1');
	await expectHeld(client, 'after the refused forms', 0);
}

async function main() {
	const [mode, keyhex, arg, decoyhex] = process.argv.slice(2);
	const key = Buffer.from(keyhex, 'hex');
	const client = new Client();
	await client.connect();
	if (mode === 'steps')
		await steps(client, key, Buffer.from(arg, 'hex'), Buffer.from(decoyhex, 'hex'));
	else {
		const n = parseInt(arg, 10);
		for (let i = 0; i < n; i++)
			await client.query('SELECT ef_unlock(1, $1)', [key]);
		console.log(`node: ${n} unlocks`);
	}
	await client.end();
	process.exit(failures > 0 ? 1 : 0);
}

main().catch((e) => {
	console.log(`node: ${e.code || ''} ${e.message}`);
	process.exit(1);
});
