// The raw TCP client of a batcher: GoChariots frames, written and never read.
import net from 'node:net';
import tls from 'node:tls';
import { Record, appendOptions, asRecord } from './core.js';
import { stringify } from './json.js';

export const DEFAULT_BATCHER = 'localhost:9000';

/** A frame: 4-byte big-endian length (type byte + payload), the type byte, the payload. */
export function frame(type, payload) {
  const body = typeof payload === 'string' ? Buffer.from(payload, 'utf8') : Buffer.from(payload);
  const out = Buffer.allocUnsafe(5 + body.length);
  out.writeUInt32BE(body.length + 1, 0);
  out.write(type, 4, 1, 'latin1');
  body.copy(out, 5);
  return out;
}

export function parseAddress(address, defaultPort = 9000) {
  const i = address.lastIndexOf(':');
  if (i < 0) return { host: address, port: defaultPort };
  return { host: address.slice(0, i).replace(/^\[|\]$/g, '') || 'localhost', port: Number(address.slice(i + 1)) };
}

/**
 * Appends records over raw TCP to a batcher: an 'r' frame per record, an 's' frame per array.
 * Fire and forget, as GoChariots: the batcher does not answer, so Events have no lid (read them
 * back over HTTP, e.g. client.status(event.id)). Promises resolve once the frame is written.
 *
 *   const b = new Batcher('localhost:9000');
 *   const a = await b.append({ func: 'A' });
 *   await b.append({ func: 'B' }, { causedBy: causedBy(a, 'func') });
 *   await b.close();
 */
export class Batcher {
  /**
   * `token`: the client token of a cluster that requires one, shown first on each connection.
   * An address `tls://host:port`: a batcher that serves TLS, its certificate checked against `ca` (PEM; default Node's).
   */
  constructor(address = DEFAULT_BATCHER, { timeout = 10_000, token, ca } = {}) {
    this.tls = address.startsWith('tls://');
    Object.assign(this, parseAddress(this.tls ? address.slice(6) : address));
    this._ca = ca;
    this.timeout = timeout;
    this.token = token ? String(token).trim() : null;
    this._socket = null;
    this._connecting = null;
  }

  /** Connects (done by the first append otherwise). */
  connect() {
    if (this._socket) return Promise.resolve(this);
    if (!this._connecting) {
      this._connecting = new Promise((resolve, reject) => {
        const s = this.tls
          ? tls.connect({ host: this.host, port: this.port, noDelay: true, ...(this._ca ? { ca: this._ca } : {}),
            ...(net.isIP(this.host) ? {} : { servername: this.host }) })
          : net.connect({ host: this.host, port: this.port, noDelay: true });
        const timer = setTimeout(() => s.destroy(new Error(`cannot connect to ${this.host}:${this.port} within ${this.timeout} ms`)), this.timeout);
        s.once(this.tls ? 'secureConnect' : 'connect', () => {
          clearTimeout(timer);
          if (this.token) s.write(frame('A', JSON.stringify({ acks: 0, token: this.token })));
          this._socket = s;
          this._connecting = null;
          s.on('error', () => {}); // surfaced by the next write
          s.on('close', () => {
            if (this._socket === s) this._socket = null;
          });
          resolve(this);
        });
        s.once('error', (e) => {
          clearTimeout(timer);
          this._connecting = null;
          reject(e);
        });
      });
    }
    return this._connecting;
  }

  async _write(buf) {
    await this.connect();
    const s = this._socket;
    await new Promise((resolve, reject) => s.write(buf, (e) => (e ? reject(e) : resolve())));
  }

  /** Sends one record in an 'r' frame; resolves its Event (no lid). Options as Client.append, without wait. */
  async append(tags, options) {
    const rec = new Record(tags, appendOptions(options));
    await this._write(frame('r', stringify(rec.toTCP())));
    return rec.event();
  }

  /** Sends several records in one 's' frame. */
  async appendMany(records) {
    const recs = [...records].map(asRecord);
    if (!recs.length) throw new RangeError('appendMany needs at least one record');
    await this._write(frame('s', stringify(recs.map((r) => r.toTCP()))));
    return recs.map((r) => r.event());
  }

  /** Ends the connection once every written frame is flushed. */
  close() {
    const s = this._socket;
    this._socket = null;
    if (!s) return Promise.resolve();
    return new Promise((resolve) => {
      s.once('close', resolve);
      s.end();
    });
  }
}
