// The Node client against a real cluster: CHARIOTS_URL (app) and CHARIOTS_BATCHER (host:port).
//   CHARIOTS_URL=http://127.0.0.1:8080 CHARIOTS_BATCHER=127.0.0.1:9000 node --test clients/node/integration/
// Run by system-tests' ClientLibrariesTest (mvn -B verify). The log may hold other records: everything
// here is found by this run's own tags and ids.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, test } from 'node:test';
import { BadRequestError, Batcher, Client, NotFoundError, Record, causedBy, tagHash } from '../src/index.js';

const URL_ = process.env.CHARIOTS_URL;
const BATCHER = process.env.CHARIOTS_BATCHER;
if (!URL_ || !BATCHER) throw new Error('set CHARIOTS_URL (the app, http://host:port) and CHARIOTS_BATCHER (host:port) to a running cluster');

const TOKEN = process.env.CHARIOTS_TOKEN; // the client token, when the cluster requires one
const log = new Client(URL_, { timeout: 15_000, token: TOKEN });
after(() => log.close());
const run = randomBytes(4).toString('hex');
/** A seed above 2^63 (negative as a signed long), beyond 2^53 (inexact as a Number). */
const bigSeed = () => (1n << 63n) + (randomBytes(8).readBigUInt64BE() >> 1n);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const byLid = (a, b) => (a.lid < b.lid ? -1 : a.lid > b.lid ? 1 : 0);

async function awaitAppended(events, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  for (const ev of events) {
    for (;;) {
      const st = await log.status(ev.id);
      if (st.status === 'appended') {
        ev.lid = st.lid;
        break;
      }
      assert.notEqual(st.status, 'rejected', `${ev.id} rejected: ${st.reason}`);
      if (Date.now() > deadline) assert.fail(`${ev.id} not appended within ${timeoutMs} ms: ${JSON.stringify(st)}`);
      await sleep(100);
    }
  }
}

test('chains over HTTP and raw TCP, read back every way', async () => {
  const s1 = bigSeed();
  const s2 = bigSeed();
  // HTTP: A; B caused by A's non-ASCII tag; C caused by both.
  const a = await log.append({ step: 'a', run, 'émoji': `✓ ${run}` }, { seed: s1 });
  const b = await log.append({ step: 'b', run }, causedBy(a, 'émoji'));
  const c = await log.append({ step: 'c', run }, [causedBy(a, 'step'), causedBy(b, 'step')]);
  assert.deepEqual([a.seed, b.seed, c.seed], [s1, s1, s1]);
  const m1 = new Record({ step: 'm1', run }, { causedBy: causedBy(c, 'step') });
  const many = await log.appendMany([m1, { tags: { step: 'm2', run }, causedBy: causedBy(m1.event(), 'step') }]);
  // Raw TCP: D, E caused by D, an 's' frame of two caused by E.
  const bt = new Batcher(BATCHER, { token: TOKEN });
  const d = await bt.append({ tcp: 'd', run, 'ключ': 'значение' }, { seed: s2 });
  const e = await bt.append({ tcp: 'e', run }, causedBy(d, 'ключ'));
  const fg = await bt.appendMany([{ tags: { tcp: 'f', run }, causedBy: causedBy(e, 'tcp') }, { tags: { tcp: 'g', run }, causedBy: causedBy(e, 'tcp') }]);
  await bt.close();
  const mine = [a, b, c, ...many, d, e, ...fg];
  await awaitAppended(mine);

  assert.ok(a.lid < b.lid && b.lid < c.lid && c.lid < many[0].lid && many[0].lid < many[1].lid, 'HTTP chain in causal order');
  assert.ok(d.lid < e.lid && e.lid < fg[0].lid && e.lid < fg[1].lid, 'TCP chain in causal order');

  for (const ev of mine) {
    const got = await log.get(ev.lid);
    assert.deepEqual([got.id, got.tags, got.seed, got.prehash, got.lid], [ev.id, ev.tags, ev.seed, ev.prehash, ev.lid]);
  }
  assert.deepEqual((await log.get(b.lid)).prehash, [tagHash('émoji', `✓ ${run}`)]);
  assert.deepEqual(new Set((await log.get(c.lid)).prehash), new Set([tagHash('step', 'a'), tagHash('step', 'b')]));
  assert.deepEqual((await log.get(e.lid)).prehash, [tagHash('ключ', 'значение')]);

  // Range pages following next: dense LIds, ours at their places.
  const lo = mine.map((x) => x.lid).reduce((x, y) => (x < y ? x : y));
  const hi = mine.map((x) => x.lid).reduce((x, y) => (x > y ? x : y));
  const page = await log.records(lo, 3);
  assert.deepEqual(page.records.map((r) => r.lid), page.records.map((_, i) => lo + BigInt(i)));
  assert.equal(page.next, lo + BigInt(page.records.length));
  const seen = new Map();
  let expect = lo;
  for await (const r of log.iterRecords(lo, { pageSize: 3 })) {
    assert.equal(r.lid, expect, 'range pages skip or repeat');
    expect++;
    seen.set(r.id, r.lid);
    if (r.lid >= hi) break;
  }
  for (const ev of mine) assert.equal(seen.get(ev.id), ev.lid);

  // By tag.
  const collect = async (it) => {
    const out = [];
    for await (const r of it) out.push(r.id);
    return out;
  };
  assert.deepEqual(await collect(log.byTag(`run:${run}`, { pageSize: 2 })), [...mine].sort(byLid).map((x) => x.id));
  assert.deepEqual(await collect(log.byTag(`émoji:✓ ${run}`)), [a.id]);
  assert.deepEqual(await collect(log.byTag(`run:${run}`, { seed: s2 })), [d, e, ...fg].sort(byLid).map((x) => x.id));

  // Trace: causal order, causes' LIds.
  const t = await log.trace(s1);
  assert.deepEqual(t.map((r) => r.id), [a.id, b.id, c.id, many[0].id, many[1].id]);
  const causes = Object.fromEntries(t.map((r) => [r.id, [...r.causes].sort((x, y) => (x < y ? -1 : 1))]));
  assert.deepEqual(causes[a.id], []);
  assert.deepEqual(causes[b.id], [a.lid]);
  assert.deepEqual(causes[c.id], [a.lid, b.lid]);
  assert.deepEqual(causes[many[1].id], [many[0].lid]);
  assert.deepEqual((await log.trace(s2)).slice(0, 2).map((r) => r.id), [d.id, e.id]);

  // Tail from our first record up to our last: every LId in order.
  const got = [];
  for await (const r of log.tail(lo)) {
    got.push(r);
    if (r.lid >= hi) break;
  }
  assert.deepEqual(got.map((r) => r.lid), Array.from({ length: Number(hi - lo) + 1 }, (_, i) => lo + BigInt(i)));
  const ids = new Set(got.map((r) => r.id));
  for (const ev of mine) assert.ok(ids.has(ev.id));
  // Resume from the middle.
  for await (const r of log.tail(b.lid)) {
    assert.deepEqual([r.lid, r.id], [b.lid, b.id]);
    break;
  }
});

test('durable appends are readable when they return', async () => {
  const a = await log.append({ durable: `a-${run}` }, { wait: true });
  assert.equal(typeof a.lid, 'bigint');
  assert.equal((await log.get(a.lid)).id, a.id);
  const b = await log.append({ durable: `b-${run}` }, { causedBy: causedBy(a, 'durable'), wait: true });
  assert.ok(b.lid > a.lid);
  const many = await log.appendMany([0, 1, 2, 3, 4].map((i) => ({ tags: { durable: `m${i}-${run}` } })), { wait: true });
  assert.equal(new Set(many.map((e) => e.lid)).size, 5);
  for (const e of many) assert.equal((await log.get(e.lid)).id, e.id);
});

test('errors a user sees', async () => {
  await assert.rejects(log.get((1n << 63n) + 5n), NotFoundError);
  await assert.rejects(log.records(1n, 5000), (e) => e instanceof BadRequestError && e.parameter === 'limit');
  await assert.rejects(async () => {
    for await (const _ of log.byTag(':v')) { /* nothing */ }
  }, (e) => e instanceof BadRequestError && e.parameter === 'tag');
  assert.equal((await log.status(`never-${run}`)).status, 'unknown');
  await assert.rejects(log.append({ k: 'v' }, { seed: -1n }), RangeError);
});
