// Test helpers: the repository's FNV vectors, a scriptable fake app, a fake batcher.
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { parse, stringify } from '../src/json.js';

export const VECTORS = fileURLToPath(new URL('../../../common/src/test/resources/fnv1a64.tsv', import.meta.url));

export function fnvVectors() {
  return fs.readFileSync(VECTORS, 'utf8').split('\n')
    .filter((l) => l && !l.startsWith('#'))
    .map((l) => {
      const [key, value, dec, hex] = l.split('\t');
      return { key, value, hash: BigInt(dec), hex };
    });
}

export const DROP = Symbol('drop');

/** An HTTP server answering handler(req) -> [status, body, headers] | DROP | (res) => void; keeps requests. */
export async function fakeApp(handler = () => [500, { error: 'no handler' }]) {
  const app = { requests: [], handler };
  app.server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      const u = new URL(req.url, 'http://x');
      const r = { method: req.method, path: req.url, pathname: u.pathname, query: Object.fromEntries(u.searchParams), headers: req.headers, raw, json: raw ? parse(raw) : undefined };
      app.requests.push(r);
      const a = app.handler(r);
      if (a === DROP) {
        req.socket.destroy();
        return;
      }
      if (typeof a === 'function') {
        a(res);
        return;
      }
      const [status, body, headers = {}] = a;
      const data = Buffer.from(typeof body === 'string' ? body : stringify(body));
      res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': data.length, ...headers });
      res.end(data);
    });
  });
  await new Promise((r) => app.server.listen(0, '127.0.0.1', r));
  app.url = `http://127.0.0.1:${app.server.address().port}`;
  app.close = () => new Promise((r) => {
    app.server.closeAllConnections?.();
    app.server.close(r);
  });
  return app;
}

/** A TCP server that keeps every frame of its first connection: [{type, payload}] once it closes. */
export async function fakeBatcher() {
  const b = {};
  b.done = new Promise((resolve) => {
    b.server = net.createServer((s) => {
      const chunks = [];
      s.on('data', (c) => chunks.push(c));
      s.on('end', () => {
        let buf = Buffer.concat(chunks);
        const frames = [];
        while (buf.length) {
          const n = buf.readUInt32BE(0);
          frames.push({ type: String.fromCharCode(buf[4]), payload: buf.subarray(5, 4 + n).toString('utf8') });
          buf = buf.subarray(4 + n);
        }
        s.end();
        resolve(frames);
      });
    });
  });
  await new Promise((r) => b.server.listen(0, '127.0.0.1', r));
  b.address = `127.0.0.1:${b.server.address().port}`;
  b.close = () => new Promise((r) => b.server.close(r));
  return b;
}
