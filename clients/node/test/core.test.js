import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Cause, Event, Record, causedBy, fnv1a64, parse, stringify, tagHash, u64 } from '../src/index.js';
import { fnvVectors } from './helpers.js';

test('FNV-1a-64: every vector of the repository', () => {
  const rows = fnvVectors();
  assert.ok(rows.length >= 10);
  for (const { key, value, hash, hex } of rows) {
    assert.equal(tagHash(key, value), hash, `${key}:${value.slice(0, 20)}`);
    assert.equal(fnv1a64(`${key}:${value}`), hash);
    assert.equal(hash.toString(16).padStart(16, '0'), hex);
  }
});

test('FNV-1a-64 over UTF-8 bytes, not UTF-16 code units, unsigned', () => {
  assert.equal(tagHash('émoji', '✓'), 17926487917834929401n);
  assert.equal(fnv1a64('😀'), fnv1a64(new Uint8Array([0xf0, 0x9f, 0x98, 0x80])));
  assert.ok(tagHash('k1', 'v1') > 2n ** 63n);
  assert.equal(typeof tagHash('k1', 'v1'), 'bigint');
});

test('64-bit values: BigInt, safe Number or decimal string in; anything else out, clearly', () => {
  assert.equal(u64('seed', 2n ** 64n - 1n), 18446744073709551615n);
  assert.equal(u64('seed', 5), 5n);
  assert.equal(u64('seed', '18446744073709551615'), 2n ** 64n - 1n);
  assert.throws(() => u64('seed', -1n), { name: 'RangeError', message: /seed must be in 0\.\.18446744073709551615/ });
  assert.throws(() => u64('seed', 2n ** 64n), RangeError);
  assert.throws(() => u64('seed', 2 ** 60), { name: 'TypeError', message: /beyond 2\^53.*BigInt/ });
  assert.throws(() => u64('seed', 1.5), TypeError);
  assert.throws(() => u64('seed', 'x'), TypeError);
  assert.throws(() => new Record({ k: 'v' }, { seed: -3n }), /seed must be in/);
});

test('JSON keeps 64-bit integers exact both ways', () => {
  const text = '{"seed":18446744073709551615,"lid":3,"prehash":[9489172654252433228,9007199254740993],"s":"a\\"b\\u00e9","f":1.5,"t":[true,false,null]}';
  const v = parse(text);
  assert.equal(v.seed, 18446744073709551615n);
  assert.equal(v.lid, 3);
  assert.deepEqual(v.prehash, [9489172654252433228n, 9007199254740993n]);
  assert.equal(v.s, 'a"bé');
  assert.equal(stringify(v), text.replace('\\u00e9', 'é'));
  assert.throws(() => parse('{"a":1'), SyntaxError);
  assert.throws(() => parse('{"a":1} x'), SyntaxError);
  assert.equal(stringify({ a: undefined, b: [undefined], c: 2n ** 63n }), '{"b":[null],"c":9223372036854775808}');
});

const A = new Event({ id: 'A', seed: 2n ** 64n - 2n, tags: { func: 'A', user: 'zoé' } });

test('causedBy names a tag and carries the seed; a new chain gets a random seed and id', () => {
  const c = causedBy(A, 'user');
  assert.equal(c.prehash, tagHash('user', 'zoé'));
  assert.equal(c.seed, A.seed);
  const r = new Record({ func: 'B' }, { causedBy: c });
  assert.equal(r.seed, A.seed);
  assert.deepEqual(r.toHTTP(), { id: r.id, tags: { func: 'B' }, seed: A.seed, prehash: c.prehash });
  const n1 = new Record({ k: 'v' });
  const n2 = new Record({ k: 'v' });
  assert.notEqual(n1.seed, n2.seed);
  assert.match(n1.id, /^[0-9a-f]{32}$/);
  assert.deepEqual(n1.prehash, []);
  assert.equal(n1.toHTTP().prehash, 0n);
});

test('causes: missing tag, one-tag events, several causes, mixed seeds', () => {
  assert.throws(() => causedBy(A, 'nope'), /has no tag "nope".*func, user/);
  const one = new Event({ id: 'X', seed: 7n, tags: { k: 'v' } });
  assert.deepEqual(new Record({ b: 'c' }, { causedBy: one }).prehash, [tagHash('k', 'v')]);
  assert.throws(() => new Record({ b: 'c' }, { causedBy: A }), /say which one/);
  const both = new Record({ f: 'C' }, { causedBy: [causedBy(A, 'func'), causedBy(A, 'user')] });
  assert.deepEqual(both.toHTTP().prehash, [tagHash('func', 'A'), tagHash('user', 'zoé')]);
  assert.deepEqual(both.toTCP().Prehash, [tagHash('func', 'A'), tagHash('user', 'zoé')]);
  assert.throws(() => new Record({ f: 'C' }, { causedBy: [causedBy(A, 'func'), causedBy(one, 'k')] }),
    /all causes of one record must share its seed/);
  assert.throws(() => new Record({ f: 'C' }, { causedBy: causedBy(A, 'func'), seed: 1n }), /differs from the seed of its causes/);
  assert.throws(() => new Record({ n: 5 }), /value of tag "n" must be a string/);
  assert.throws(() => new Cause(-1n, 1n), /prehash/);
});

test('events carry toid like lid: BigInt, exact above 2^53, null when absent', () => {
  const e = Event.fromJSON(parse('{"lid":2,"host":1,"toid":18446744073709551615,"id":"A","tags":{},"seed":1,"prehash":0,"timestamp":5}'));
  assert.equal(e.lid, 2n);
  assert.equal(e.host, 1);
  assert.equal(e.toid, 2n ** 64n - 1n);
  assert.deepEqual(Object.keys(e.toJSON()).slice(0, 3), ['lid', 'host', 'toid']);
  assert.match(stringify(e), /"toid":18446744073709551615,/);
  assert.equal(Event.fromJSON(parse(stringify(e))).toid, 2n ** 64n - 1n);
  assert.equal(Event.fromJSON({ lid: 3, host: 0, toid: 9, tags: {}, seed: 1 }).toid, 9n);
  assert.equal(Event.fromJSON({ LId: 4, Host: 0, TOId: '7', Tags: {}, Seed: 1 }).toid, 7n);
  const old = Event.fromJSON(parse('{"lid":2,"host":1,"id":"A","tags":{},"seed":1,"prehash":0}'));
  assert.equal(old.toid, null);
  assert.equal('toid' in old.toJSON(), false);
});

test('wire shapes print unsigned decimal numbers', () => {
  const r = new Record({ k: 'v' }, { causedBy: new Cause(2n ** 64n - 1n, 2n ** 63n + 1n), id: 'x' });
  assert.equal(stringify(r.toHTTP()), '{"id":"x","tags":{"k":"v"},"seed":9223372036854775809,"prehash":18446744073709551615}');
  assert.equal(stringify(r.toTCP()), '{"Id":"x","Tags":{"k":"v"},"Seed":9223372036854775809,"Pre":{"Hash":18446744073709551615}}');
});

test('events from server JSON, either shape', () => {
  const e = Event.fromJSON(parse('{"lid":3,"host":0,"id":"B","tags":{"k":"v"},"seed":18446744073709551615,"prehash":[9489172654252433228,1],"timestamp":5,"causes":[1,2]}'));
  assert.equal(e.lid, 3n);
  assert.equal(e.seed, 2n ** 64n - 1n);
  assert.deepEqual(e.prehash, [9489172654252433228n, 1n]);
  assert.deepEqual(e.causes, [1n, 2n]);
  const g = Event.fromJSON({ LId: 4, Tags: { a: 'b' }, Seed: 1, Pre: { Hash: 0 } });
  assert.equal(g.lid, 4n);
  assert.deepEqual(g.prehash, []);
});
