import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import {
  BadRequestError, Batcher, ChariotsError, Client, NotFoundError, Record, RejectedError, TimeoutError, UnavailableError,
  causedBy, frame, parse, tagHash,
} from '../src/index.js';
import { DROP, fakeApp, fakeBatcher } from './helpers.js';

const BIG = 2n ** 64n - 7n;
const REC = (lid, extra = {}) => ({ lid: BigInt(lid), host: 0, id: `r${lid}`, tags: { n: String(lid) }, seed: BIG, prehash: 0, timestamp: 1, ...extra });

describe('appends over HTTP', () => {
  let app, log;
  before(async () => {
    app = await fakeApp();
  });
  after(() => app.close());
  beforeEach(() => {
    app.requests.length = 0;
    log?.close();
    log = new Client(app.url, { retries: 3, maxBackoff: 50 });
  });

  test('seeds and hashes go out as unsigned decimal numbers, tags as UTF-8', async () => {
    app.handler = (r) => [202, { id: r.json.id }];
    const a = await log.append({ 'émoji': '✓' }, { seed: BIG });
    assert.match(app.requests[0].raw, /"seed":18446744073709551609[,}]/);
    assert.ok(app.requests[0].raw.includes('émoji'));
    assert.equal(app.requests[0].headers['content-type'], 'application/json');
    assert.equal(app.requests[0].pathname, '/record');
    assert.equal(a.seed, BIG);
    assert.equal(a.lid, null);
    const b = await log.append({ k: 'v' }, causedBy(a, 'émoji'));
    assert.equal(app.requests[1].json.prehash, tagHash('émoji', '✓'));
    assert.equal(app.requests[1].json.seed, BIG);
    assert.equal(b.seed, BIG);
  });

  test('503 is retried with the same id, honouring Retry-After', async () => {
    const answers = [[503, { error: 'full' }, { 'Retry-After': '1' }], [503, { error: 'full' }, { 'Retry-After': '0' }]];
    app.handler = (r) => answers.shift() ?? [202, { id: r.json.id }];
    log.maxBackoff = 5000;
    const t0 = Date.now();
    const ev = await log.append({ k: 'v' });
    assert.ok(Date.now() - t0 >= 900, 'waited the Retry-After second');
    assert.deepEqual(app.requests.map((r) => r.json.id), [ev.id, ev.id, ev.id]);
  });

  test('503 forever: UnavailableError after bounded retries', async () => {
    app.handler = () => [503, { error: 'no batcher is registered' }, { 'Retry-After': '0' }];
    await assert.rejects(log.append({ k: 'v' }), (e) => e instanceof UnavailableError && e.status === 503 && /no batcher is registered/.test(e.message));
    assert.equal(app.requests.length, 4);
  });

  test('a network error is retried with the same id', async () => {
    const answers = [DROP];
    app.handler = (r) => answers.shift() ?? [202, { id: r.json.id }];
    const ev = await log.append({ k: 'v' }, { id: 'my-id' });
    assert.deepEqual(app.requests.map((r) => r.json.id), ['my-id', 'my-id']);
    assert.equal(ev.id, 'my-id');
  });

  test('unreachable server', async () => {
    const c = new Client('http://127.0.0.1:1', { retries: 1, maxBackoff: 10 });
    await assert.rejects(c.append({ k: 'v' }), (e) => e instanceof UnavailableError && /cannot reach/.test(e.message));
  });

  test('400 names the field and problem, and is not retried', async () => {
    app.handler = () => [400, { error: 'tags: must be an object', field: 'tags', problem: 'must be an object' }];
    await assert.rejects(log.append({ k: 'v' }), (e) => e instanceof BadRequestError && e.field === 'tags'
      && e.problem === 'must be an object' && e.status === 400 && /tags: must be an object/.test(e.message));
    assert.equal(app.requests.length, 1);
  });

  test('bad values are refused before sending', async () => {
    await assert.rejects(log.append({ k: 'v' }, { seed: -1n }), RangeError);
    await assert.rejects(log.append({ k: 'v' }, { seed: 2n ** 64n }), RangeError);
    await assert.rejects(log.append({ k: 1 }), TypeError);
    assert.equal(app.requests.length, 0);
  });

  test('durable append: ?wait=true, 200 with lid and host', async () => {
    app.handler = (r) => [200, { id: r.json.id, lid: 2n ** 63n, host: 0 }];
    const ev = await log.append({ k: 'v' }, { wait: true });
    assert.deepEqual(app.requests[0].query, { wait: 'true' });
    assert.equal(ev.lid, 2n ** 63n);
    assert.equal(ev.host, 0);
  });

  test('durable append: 504 is a TimeoutError keeping the id, and a retry with it works', async () => {
    app.handler = (r) => [504, { id: r.json.id, error: 'not persisted within 5000 ms' }];
    const err = await log.append({ k: 'v' }, { id: 'T1', wait: true }).catch((e) => e);
    assert.ok(err instanceof TimeoutError && err instanceof ChariotsError);
    assert.equal(err.id, 'T1');
    assert.match(err.message, /not persisted/);
    app.handler = (r) => [200, { id: r.json.id, lid: 9, host: 0 }];
    assert.equal((await log.append({ k: 'v' }, { id: err.id, wait: true })).lid, 9n);
  });

  test('durable append: 409 is a RejectedError with the reason', async () => {
    app.handler = (r) => [409, { id: r.json.id, status: 'rejected', reason: 'cause timeout' }];
    await assert.rejects(log.append({ k: 'v' }, { id: 'R', wait: true }), (e) => e instanceof RejectedError && e.id === 'R' && e.reason === 'cause timeout');
  });

  test('durable append on a server without wait: polls the status', async () => {
    const polls = [];
    app.handler = (r) => {
      if (r.method === 'POST') return [202, { id: r.json.id }];
      polls.push(r);
      return polls.length < 3 ? [200, { id: r.query.id, status: 'pending', waitingFor: [], since: 1 }] : [200, { id: r.query.id, status: 'appended', lid: 77 }];
    };
    const ev = await log.append({ k: 'v' }, { wait: true });
    assert.equal(ev.lid, 77n);
    assert.equal(polls.length, 3);
    assert.equal(polls[0].query.id, ev.id);
    app.handler = (r) => (r.method === 'POST' ? [202, { id: r.json.id }] : [200, { id: 'x', status: 'rejected', reason: 'cause timeout' }]);
    await assert.rejects(log.append({ k: 'v' }, { wait: true }), (e) => e instanceof RejectedError && /cause timeout/.test(e.message));
    app.handler = (r) => (r.method === 'POST' ? [202, { id: r.json.id }] : [404, { status: 'unknown' }]);
    log.waitTimeout = 200;
    await assert.rejects(log.append({ k: 'v' }, { id: 'W', wait: true }), (e) => e instanceof TimeoutError && e.id === 'W');
  });

  test('appendMany is one JSON array', async () => {
    app.handler = (r) => [202, { ids: r.json.map((x) => x.id) }];
    const a = new Record({ f: 'A' }, { seed: BIG });
    const evs = await log.appendMany([a, { tags: { f: 'B' }, causedBy: causedBy(a.event(), 'f') }, new Record({ x: 'y' })]);
    assert.equal(app.requests.length, 1);
    assert.deepEqual(app.requests[0].json.map((x) => x.id), evs.map((e) => e.id));
    assert.equal(app.requests[0].json[1].prehash, tagHash('f', 'A'));
    assert.equal(app.requests[0].json[1].seed, BIG);
  });

  test('appendMany: 400 lists the errors per record', async () => {
    app.handler = () => [400, { error: '1 of 2 records are invalid', errors: [{ field: '[1].seed', problem: 'x' }] }];
    await assert.rejects(log.appendMany([{ tags: { a: 'b' } }, { tags: { c: 'd' } }]), (e) => e.errors[0].field === '[1].seed');
  });
});

describe('reads over HTTP', () => {
  let app, log;
  before(async () => {
    app = await fakeApp();
    log = new Client(app.url, { retries: 2, maxBackoff: 50 });
  });
  after(() => {
    log.close();
    return app.close();
  });
  beforeEach(() => {
    app.requests.length = 0;
  });

  test('get, and 404 as NotFoundError', async () => {
    app.handler = (r) => (r.path === '/record/3' ? [200, REC(3)] : [404, { error: 'no record at LId 4' }]);
    const e = await log.get(3n);
    assert.equal(e.lid, 3n);
    assert.equal(e.seed, BIG);
    assert.deepEqual(e.tags, { n: '3' });
    await assert.rejects(log.get(4n), (x) => x instanceof NotFoundError && /no record at LId 4/.test(x.message));
    await assert.rejects(log.get(-1n), RangeError);
  });

  test('reads carry toid (BigInt), null when absent', async () => {
    app.handler = (r) => (r.pathname === '/record/3'
      ? [200, REC(3, { host: 1, toid: 2n ** 64n - 2n })]
      : [200, { records: [REC(1, { toid: 1n }), REC(2)], next: 3n }]);
    const e = await log.get(3n);
    assert.deepEqual([e.lid, e.host, e.toid], [3n, 1, 2n ** 64n - 2n]);
    const page = await log.records(1n, 2);
    assert.deepEqual(page.records.map((x) => [x.lid, x.toid]), [[1n, 1n], [2n, null]]);
  });

  test('records pages, and an iterator that follows next', async () => {
    app.handler = (r) => {
      const f = Number(r.query.from);
      const recs = [];
      for (let i = f; i < Math.min(f + 2, 6); i++) recs.push(REC(i));
      return [200, { records: recs, next: f + recs.length }];
    };
    const page = await log.records(1n, 2);
    assert.deepEqual(page.records.map((e) => e.lid), [1n, 2n]);
    assert.equal(page.next, 3n);
    const all = [];
    for await (const e of log.iterRecords(1n, { pageSize: 2 })) all.push(e.lid);
    assert.deepEqual(all, [1n, 2n, 3n, 4n, 5n]);
  });

  test('a bad parameter names it', async () => {
    app.handler = () => [400, { error: 'limit: must be at most 1000', parameter: 'limit' }];
    await assert.rejects(log.records(1n, 5000), (e) => e instanceof BadRequestError && e.parameter === 'limit');
  });

  test('byTag encodes the tag and pages', async () => {
    app.handler = (r) => (r.query.from === '1'
      ? [200, { tag: r.query.tag, hash: 1, records: [REC(2), REC(7)], next: 8 }]
      : [200, { tag: r.query.tag, hash: 1, records: [], next: Number(r.query.from) }]);
    const got = [];
    for await (const e of log.byTag('émoji:✓ x', { seed: BIG })) got.push(e.lid);
    assert.deepEqual(got, [2n, 7n]);
    assert.equal(app.requests[0].query.tag, 'émoji:✓ x');
    assert.equal(app.requests[0].query.seed, BIG.toString());
    assert.equal(app.requests[1].query.from, '8');
  });

  test('trace', async () => {
    app.handler = (r) => (r.query.from === '1'
      ? [200, { seed: BIG, records: [REC(1, { causes: [] }), REC(2, { prehash: 5, causes: [1] })], next: 3 }]
      : [200, { seed: BIG, records: [], next: 3 }]);
    const t = await log.trace(BIG);
    assert.deepEqual(t.map((e) => [e.lid, e.causes, e.prehash]), [[1n, [], []], [2n, [1n], [5n]]]);
    assert.equal(app.requests[0].pathname, `/trace/${BIG}`);
  });

  test('status', async () => {
    app.handler = (r) => (r.query.id === 'p'
      ? [200, { id: 'p', status: 'pending', waitingFor: [{ prehash: BIG, seed: 1 }], since: 5 }]
      : [404, { id: 'u', status: 'unknown', error: 'no record' }]);
    const s = await log.status('p');
    assert.equal(s.status, 'pending');
    assert.equal(s.waitingFor[0].prehash, BIG);
    assert.deepEqual(await log.status('u'), { id: 'u', status: 'unknown' });
  });

  test('reads retry a 503', async () => {
    const answers = [[503, { error: 'a maintainer did not answer' }, { 'Retry-After': '0' }]];
    app.handler = () => answers.shift() ?? [200, REC(1)];
    assert.equal((await log.get(1n)).lid, 1n);
  });

  test('tail resumes from the last LId + 1 after a dropped stream', async () => {
    app.handler = (r) => (res) => {
      const f = Number(r.query.from);
      res.writeHead(200, { 'Content-Type': 'application/x-ndjson' });
      // split a line across writes, to exercise line reassembly
      const text = [f, f + 1, f + 2].map((l) => JSON.stringify({ ...REC(l), lid: l, seed: 1 }) + '\n').join('');
      res.write(text.slice(0, 10));
      res.end(text.slice(10));
    };
    const got = [];
    for await (const e of log.tail(5n)) {
      got.push(e.lid);
      if (got.length === 7) break;
    }
    assert.deepEqual(got, [5n, 6n, 7n, 8n, 9n, 10n, 11n]);
    assert.deepEqual(app.requests.map((r) => r.query.from), ['5', '8', '11']);
  });
});

test('raw TCP: r and s frames, GoChariots fields, exact 64-bit numbers', async () => {
  const fake = await fakeBatcher();
  try {
    const b = new Batcher(fake.address);
    const a = await b.append({ 'émoji': '✓' }, { seed: BIG });
    const c = await b.append({ f: 'B' }, causedBy(a, 'émoji'));
    const evs = await b.appendMany([{ tags: { f: 'C' }, causedBy: causedBy(c, 'f') }, { tags: { x: 'y' } }]);
    await b.close();
    const frames = await fake.done;
    assert.deepEqual(frames.map((f) => f.type), ['r', 'r', 's']);
    assert.deepEqual(parse(frames[0].payload), { Id: a.id, Tags: { 'émoji': '✓' }, Seed: BIG, Pre: { Hash: 0 } });
    assert.match(frames[1].payload, /"Seed":18446744073709551609/);
    assert.equal(parse(frames[1].payload).Pre.Hash, tagHash('émoji', '✓'));
    const arr = parse(frames[2].payload);
    assert.deepEqual(arr.map((x) => x.Id), evs.map((e) => e.id));
    assert.equal(arr[0].Seed, BIG);
    assert.equal(a.lid, null);
  } finally {
    await fake.close();
  }
  assert.deepEqual([...frame('r', '{}')], [0, 0, 0, 3, 114, 123, 125]);
});
