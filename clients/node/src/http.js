// The HTTP client of the app tier: appends (with retries that cannot duplicate) and reads.
import http from 'node:http';
import https from 'node:https';
import { Event, Record, appendOptions, asRecord, u64 } from './core.js';
import { BadRequestError, ChariotsError, NotFoundError, RejectedError, ServerError, TimeoutError, UnavailableError } from './errors.js';
import { parse, stringify } from './json.js';

export const DEFAULT_URL = 'http://localhost:8080';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function retryAfterSeconds(h) {
  if (h === undefined) return undefined;
  const s = Number(String(h).trim());
  return Number.isFinite(s) && s >= 0 ? s : undefined;
}

function message(body, text) {
  if (body && typeof body === 'object' && body.error) return String(body.error);
  return text ?? '';
}

/**
 * A client of the app's HTTP API.
 *
 *   const log = new Client('http://localhost:8080');
 *   const a = await log.append({ func: 'A' });
 *   const b = await log.append({ func: 'B' }, { causedBy: causedBy(a, 'func') });
 *
 * Appends carry a client-generated id, so retries (after a 503, honouring Retry-After, or a
 * network error; at most `retries`) never append a record twice. Keep-alive connections.
 */
export class Client {
  /**
   * `token`: the client token of a cluster that requires one (sent as `Authorization: Bearer`).
   * `ca`: for an https URL, the certificate authority to trust (PEM text or Buffer) instead of Node's.
   */
  constructor(url = DEFAULT_URL, { timeout = 10_000, retries = 5, maxBackoff = 5_000, waitTimeout = 30_000, token, ca } = {}) {
    if (!url.includes('://')) url = 'http://' + url;
    const u = new URL(url);
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new TypeError(`url must be http:// or https://, got ${url}`);
    this.url = url.replace(/\/+$/, '');
    this._u = u;
    this._base = u.pathname.replace(/\/+$/, '');
    this._mod = u.protocol === 'https:' ? https : http;
    this._tls = ca ? { ca } : {};
    this._agent = new this._mod.Agent({ keepAlive: true, ...this._tls });
    this.timeout = timeout;
    this.retries = retries;
    this.maxBackoff = maxBackoff;
    this.waitTimeout = waitTimeout;
    this._auth = token ? { Authorization: 'Bearer ' + String(token).trim() } : {};
  }

  /** Closes the idle keep-alive connections (the process can then exit). */
  close() {
    this._agent.destroy();
  }

  _send(method, path, data, { timeout = this.timeout, agent = this._agent } = {}) {
    return new Promise((resolve, reject) => {
      const headers = { Accept: 'application/json', ...this._auth };
      if (data !== undefined) {
        headers['Content-Type'] = 'application/json';
        headers['Content-Length'] = data.length;
      }
      const req = this._mod.request({
        host: this._u.hostname.replace(/^\[|\]$/g, ''),
        port: this._u.port || (this._mod === https ? 443 : 80),
        method,
        path: this._base + path,
        headers,
        agent,
      }, (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, text: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      });
      if (timeout) {
        req.setTimeout(timeout, () => {
          const e = new Error(`no answer within ${timeout} ms`);
          e.code = 'ETIMEDOUT';
          req.destroy(e);
        });
      }
      req.on('error', reject);
      req.end(data);
    });
  }

  /** Sends with retries on 503 and network errors; resolves {status, body} of any other answer. */
  async _request(method, path, body, { id } = {}) {
    const data = body === undefined ? undefined : Buffer.from(stringify(body), 'utf8');
    const what = `${method} ${this.url}${path}`;
    for (let attempt = 0; ; attempt++) {
      let r;
      try {
        r = await this._send(method, path, data);
      } catch (e) {
        if (attempt < this.retries) {
          await sleep(Math.min(50 * 2 ** attempt, this.maxBackoff));
          continue;
        }
        if (e.code === 'ETIMEDOUT') throw new TimeoutError(`${what}: ${e.message} (${attempt + 1} attempts)`, { id, cause: e });
        throw new UnavailableError(`${what}: cannot reach the server after ${attempt + 1} attempts: ${e.message}`, { cause: e });
      }
      let parsed;
      try {
        parsed = r.text ? parse(r.text) : undefined;
      } catch {
        parsed = r.text;
      }
      if (r.status === 503) {
        const hint = retryAfterSeconds(r.headers['retry-after']);
        if (attempt < this.retries) {
          await sleep(Math.min(hint !== undefined ? hint * 1000 : 50 * 2 ** attempt, this.maxBackoff));
          continue;
        }
        throw new UnavailableError(`${what}: unavailable (503) after ${attempt + 1} attempts: ${message(parsed, r.text)}`,
          { status: 503, body: parsed, retryAfter: hint });
      }
      return { status: r.status, body: parsed };
    }
  }

  _expect(what, { status, body }, ok = [200], id) {
    if (ok.includes(status)) return body;
    const msg = `${what}: ${status} ${message(body, typeof body === 'string' ? body : '')}`;
    const opts = { status, body, id };
    if (status === 400) throw new BadRequestError(msg, opts);
    if (status === 404) throw new NotFoundError(msg, opts);
    if (status === 409) throw new RejectedError(msg, opts);
    if (status === 504) throw new TimeoutError(msg, opts);
    throw new ServerError(msg, opts);
  }

  /**
   * Appends one record; resolves its Event (with lid and host when `wait`).
   * @param {Object<string,string>} tags
   * @param {{causedBy?: Cause|Event|Array<Cause|Event>, seed?: bigint, id?: string, wait?: boolean}|Cause|Event|Array} [options]
   *   causedBy: causes sharing one seed (it becomes this record's); no cause and no seed: a new
   *   chain with a random seed. wait: resolve once persisted and indexed (POST /record?wait=true:
   *   TimeoutError on 504 — retry with the same id; RejectedError on 409). A server answering 202
   *   instead (no wait support) is polled with status(id) for `waitTimeout` ms.
   */
  async append(tags, options) {
    const opts = appendOptions(options);
    const rec = new Record(tags, opts);
    const r = await this._request('POST', opts.wait ? '/record?wait=true' : '/record', rec.toHTTP(), { id: rec.id });
    const body = this._expect(`append ${rec.id}`, r, [200, 202], rec.id);
    if (!body || typeof body !== 'object' || (body.id !== undefined && body.id !== rec.id)) {
      throw new ServerError(`append ${rec.id}: unexpected answer ${stringify(body)}`, { status: r.status, body });
    }
    if (opts.wait && r.status === 202) {
      // A server without ?wait=true acknowledged on receipt: wait by asking where the record is.
      return this._awaitAppended(rec);
    }
    return rec.event(body.lid === undefined ? null : BigInt(body.lid), body.host ?? null);
  }

  async _awaitAppended(rec) {
    const deadline = Date.now() + this.waitTimeout;
    for (let pause = 20; ; pause = Math.min(pause * 2, 500)) {
      const st = await this.status(rec.id);
      if (st.status === 'appended') return rec.event(st.lid);
      if (st.status === 'rejected') throw new RejectedError(`append ${rec.id}: rejected: ${st.reason}`, { status: 409, body: st, id: rec.id });
      if (Date.now() + pause > deadline) {
        throw new TimeoutError(`append ${rec.id}: not appended within ${this.waitTimeout} ms (status ${st.status}); retrying with the same id is safe`,
          { body: st, id: rec.id });
      }
      await sleep(pause);
    }
  }

  /**
   * Appends several records in one request (a JSON array): all or none are taken.
   * @param {Array<Record|{tags, causedBy?, seed?, id?}>} records
   */
  async appendMany(records, { wait = false } = {}) {
    const recs = [...records].map(asRecord);
    if (!recs.length) throw new RangeError('appendMany needs at least one record');
    const r = await this._request('POST', wait ? '/record?wait=true' : '/record', recs.map((x) => x.toHTTP()));
    const body = this._expect(`append ${recs.length} records`, r, [200, 202]);
    // wait=true answers {records: [{id, lid, host}, ...]}; a 202 carries no LIds.
    const durable = new Map((Array.isArray(body?.records) ? body.records : []).map((d) => [d.id, d]));
    return recs.map((x) => {
      const d = durable.get(x.id);
      return x.event(d?.lid === undefined ? null : BigInt(d.lid), d?.host ?? null);
    });
  }

  /** The record at `lid` (NotFoundError if none). */
  async get(lid) {
    lid = u64('lid', lid);
    return Event.fromJSON(this._expect(`get LId ${lid}`, await this._request('GET', `/record/${lid}`)));
  }

  /** Where the record with this id is: {id, status: appended|pending|rejected|unknown, lid?, waitingFor?, since?, reason?}. */
  async status(id) {
    const r = await this._request('GET', '/record?' + new URLSearchParams({ id }));
    if (r.status === 404 && r.body?.status === 'unknown') return { id, status: 'unknown' };
    const b = this._expect(`status of ${id}`, r);
    const out = { id: b.id ?? id, status: b.status };
    if (b.lid !== undefined) out.lid = BigInt(b.lid);
    if (b.waitingFor) out.waitingFor = b.waitingFor.map((w) => ({ prehash: BigInt(w.prehash), seed: BigInt(w.seed) }));
    if (b.since !== undefined) out.since = Number(b.since);
    if (b.reason !== undefined) out.reason = b.reason;
    return out;
  }

  /** One page: records from `from` on (at most `limit`, ≤ 1000), stopping before the first LId not in the log yet. Resolves {records, next}. */
  async records(from = 1n, limit = 100) {
    return this._page('/records?' + new URLSearchParams({ from: u64('from', from).toString(), limit: String(limit) }), 'records');
  }

  /** Every record from `from` to the current end of the log, page by page. */
  async *iterRecords(from = 1n, { pageSize = 1000 } = {}) {
    let lid = u64('from', from);
    for (;;) {
      const page = await this.records(lid, pageSize);
      if (!page.records.length) return;
      yield* page.records;
      lid = page.next;
    }
  }

  /** Every record carrying tag "key:value", in LId order; only chain `seed`'s if given. */
  async *byTag(tag, { seed, from = 1n, pageSize = 1000 } = {}) {
    if (typeof tag !== 'string' || !tag.includes(':')) throw new TypeError(`tag must be "key:value", got ${String(tag)}`);
    let lid = u64('from', from);
    for (;;) {
      const q = { tag, from: lid.toString(), limit: String(pageSize) };
      if (seed !== undefined && seed !== null) q.seed = u64('seed', seed).toString();
      const page = await this._page('/records?' + new URLSearchParams(q), `tag ${tag}`);
      yield* page.records;
      if (!page.records.length || page.next <= lid) return;
      lid = page.next;
    }
  }

  /** The chain `seed`: its records in log order, each with `causes` (the LIds of its causes). */
  async trace(seed, { from = 1n, pageSize = 1000 } = {}) {
    seed = u64('seed', seed);
    let lid = u64('from', from);
    const out = [];
    for (;;) {
      const page = await this._page(`/trace/${seed}?` + new URLSearchParams({ from: lid.toString(), limit: String(pageSize) }), `trace ${seed}`);
      out.push(...page.records);
      if (!page.records.length || page.next <= lid) return out;
      lid = page.next;
    }
  }

  async _page(path, what) {
    const b = this._expect(what, await this._request('GET', path));
    return { records: (b.records ?? []).map((x) => Event.fromJSON(x)), next: BigInt(b.next) };
  }

  /**
   * Follows the log from `from` as it grows: every record in LId order, no gap, no duplicate.
   * On a dropped connection it resumes from the last LId + 1 (`reconnect`; at most `retries`
   * failures in a row). `break` out of the loop (or abort `signal`) to stop.
   */
  async *tail(from = 1n, { reconnect = true, signal } = {}) {
    let next = u64('from', from);
    let failures = 0;
    for (;;) {
      const path = '/records/stream?' + new URLSearchParams({ from: next.toString() });
      let req;
      try {
        const res = await new Promise((resolve, reject) => {
          req = this._mod.request({
            host: this._u.hostname.replace(/^\[|\]$/g, ''),
            port: this._u.port || (this._mod === https ? 443 : 80),
            path: this._base + path,
            headers: { Accept: 'application/x-ndjson', ...this._auth },
            agent: false,
            ...this._tls,
            signal,
          }, resolve);
          req.on('error', reject);
          req.end();
        });
        if (res.statusCode !== 200) {
          const chunks = [];
          for await (const c of res) chunks.push(c);
          const text = Buffer.concat(chunks).toString('utf8');
          if (res.statusCode === 503 && failures < this.retries) {
            failures++;
            await sleep(Math.min((retryAfterSeconds(res.headers['retry-after']) ?? 0.5) * 1000, this.maxBackoff));
            continue;
          }
          let body;
          try {
            body = parse(text);
          } catch {
            body = text;
          }
          this._expect(`tail from ${next}`, { status: res.statusCode, body });
        }
        let buf = '';
        const decoder = new TextDecoder();
        for await (const chunk of res) {
          buf += decoder.decode(chunk, { stream: true });
          let nl;
          while ((nl = buf.indexOf('\n')) >= 0) {
            const line = buf.slice(0, nl).trim();
            buf = buf.slice(nl + 1);
            if (!line) continue;
            const ev = Event.fromJSON(parse(line));
            failures = 0;
            if (ev.lid !== null) next = ev.lid + 1n;
            yield ev;
          }
        }
        throw Object.assign(new Error('the server ended the stream'), { code: 'ECONNRESET' });
      } catch (e) {
        if (e instanceof ChariotsError || signal?.aborted) throw e;
        if (!reconnect || failures >= this.retries) {
          throw new UnavailableError(`tail from ${next}: connection lost: ${e.message}`, { cause: e });
        }
        failures++;
        await sleep(Math.min(100 * 2 ** failures, this.maxBackoff));
      } finally {
        req?.destroy();
      }
    }
  }
}
