import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parse, tagHash } from '../src/index.js';
import { fakeApp } from './helpers.js';

const CLI = fileURLToPath(new URL('../bin/chariots.js', import.meta.url));
const run = (...args) => new Promise((resolve) => {
  execFile(process.execPath, [CLI, ...args], { env: { ...process.env, CHARIOTS_URL: '' } }, (err, stdout, stderr) => {
    resolve({ code: err ? err.code : 0, stdout, stderr });
  });
});

test('cli append --caused-by LID:KEY fetches the cause and prints the event', async () => {
  const BIG = 2n ** 64n - 7n;
  const app = await fakeApp((r) => (r.method === 'GET'
    ? [200, { lid: 4, id: 'A', tags: { func: 'A' }, seed: BIG, prehash: 0 }]
    : [202, { id: r.json.id }]));
  try {
    const { code, stdout, stderr } = await run('append', '--url', app.url, '--tags', '{"func":"B"}', '--caused-by', '4:func');
    assert.equal(code, 0, stderr);
    const ev = parse(stdout);
    assert.equal(ev.seed, BIG);
    assert.equal(ev.prehash, tagHash('func', 'A'));
    assert.deepEqual(ev.tags, { func: 'B' });
    assert.equal(app.requests[1].json.prehash, tagHash('func', 'A'));
  } finally {
    await app.close();
  }
});

test('cli get prints lid, host and toid (exact), and no toid when the record has none', async () => {
  const app = await fakeApp((r) => (r.pathname === '/record/4'
    ? [200, { lid: 4, host: 2, toid: 2n ** 64n - 1n, id: 'A', tags: {}, seed: 1, prehash: 0 }]
    : [200, { lid: 5, host: 2, id: 'B', tags: {}, seed: 1, prehash: 0 }]));
  try {
    let r = await run('get', '--url', app.url, '4');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^\{"lid":4,"host":2,"toid":18446744073709551615,/);
    r = await run('get', '--url', app.url, '5');
    assert.equal(r.code, 0, r.stderr);
    assert.equal('toid' in parse(r.stdout), false);
  } finally {
    await app.close();
  }
});

test('cli errors: exit 1 with a message, usage errors exit 2', async () => {
  const app = await fakeApp(() => [404, { error: 'no record at LId 9' }]);
  try {
    let r = await run('append', '--url', app.url, '--tags', '{"a":"b"}', '--caused-by', '9:a');
    assert.equal(r.code, 1);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /no record at LId 9/);
    r = await run('append', '--tags', '[1]');
    assert.equal(r.code, 2);
    assert.match(r.stderr, /JSON object/);
    r = await run('append', '--url', app.url, '--tags', '{"a":"b"}', '--seed', '-5');
    assert.equal(r.code, 2);
  } finally {
    await app.close();
  }
  const h = await run('hash', 'k1', 'v1');
  assert.equal(h.stdout.trim(), '9489172654252433228');
});
