#!/usr/bin/env node
// chariots-js: append and read from a shell. JSON on stdout (64-bit values exact), errors on stderr, exit 1 (2: usage).
import { parseArgs } from 'node:util';
import { readFileSync } from 'node:fs';
import { Batcher, Cause, Client, DEFAULT_BATCHER, DEFAULT_URL, causedBy, fnv1a64, stringify, tagHash, u64 } from '../src/index.js';

const USAGE = `usage: chariots-js COMMAND [options]   (node clients/node/bin/chariots.js …)

commands:
  append --tags JSON [--seed S] [--caused-by LID:KEY]… [--prehash H]… [--id ID] [--wait]
                        append one record over HTTP; prints the event as JSON
  send   --tags JSON [--seed S] [--caused-by LID:KEY]… [--prehash H]… [--id ID] [--batcher HOST:PORT]
                        append one record over raw TCP ('r' frame); prints the event (no lid)
  get LID               the record at LID
  status ID             appended / pending / rejected / unknown
  records [--from L] [--limit N]   records from L, one JSON line each
  by-tag KEY:VALUE [--seed S] [--from L]   records carrying the tag, one JSON line each
  trace SEED            the chain in log order, each record with its causes' LIds
  tail [--from L] [-n N]   follow the log, one JSON line per record
  hash KEY VALUE | hash TEXT   FNV-1a-64, unsigned decimal

options:
  --url URL             the app (env CHARIOTS_URL; default ${DEFAULT_URL})
  --batcher HOST:PORT   the batcher (env CHARIOTS_BATCHER; default ${DEFAULT_BATCHER})
  --token TOKEN         the client token, for a cluster that requires one (env CHARIOTS_TOKEN)
  --ca FILE             the certificate authority (PEM) of an https:// URL or tls:// batcher (env CHARIOTS_CA)
  --timeout MS          per request (default 10000)
  --caused-by LID:KEY   a cause: the record at LID (fetched over HTTP), named by its tag KEY; repeatable
  -h, --help`;

class Usage extends Error {}

const out = (v) => process.stdout.write(stringify(v) + '\n');

function num(name, text) {
  if (text === undefined) return undefined;
  if (!/^\d+$/.test(text)) throw new Usage(`${name} must be an unsigned 64-bit decimal number, got "${text}"`);
  return u64(name, text);
}

function lid(name, text) {
  const v = num(name, text);
  if (v === 0n) throw new Usage(`${name}: LIds start at 1`);
  return v;
}

function tagsArg(text) {
  if (text === undefined) throw new Usage('--tags is required, a JSON object: --tags \'{"k":"v"}\'');
  let t;
  try {
    t = JSON.parse(text);
  } catch (e) {
    throw new Usage(`--tags must be a JSON object of strings, like '{"k":"v"}': ${e.message}`);
  }
  if (!t || typeof t !== 'object' || Array.isArray(t) || !Object.values(t).every((v) => typeof v === 'string')) {
    throw new Usage(`--tags must be a JSON object of string values, like '{"k":"v"}', got ${text}`);
  }
  return t;
}

async function causes(v, client) {
  const out = [];
  for (const c of v['caused-by'] ?? []) {
    const i = c.indexOf(':');
    if (i <= 0 || i === c.length - 1) throw new Usage(`--caused-by must be LID:KEY (the cause's LId and the tag that names it), got "${c}"`);
    out.push(causedBy(await client.get(lid('--caused-by LID', c.slice(0, i))), c.slice(i + 1)));
  }
  if (v.prehash?.length) {
    if (v.seed === undefined) throw new Usage('--prehash needs --seed (the cause\'s chain)');
    for (const h of v.prehash) out.push(new Cause(num('--prehash', h), num('--seed', v.seed)));
  }
  return out;
}

async function main(argv) {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        url: { type: 'string', default: process.env.CHARIOTS_URL || DEFAULT_URL },
        batcher: { type: 'string', default: process.env.CHARIOTS_BATCHER || DEFAULT_BATCHER },
        token: { type: 'string', default: process.env.CHARIOTS_TOKEN || undefined },
        ca: { type: 'string', default: process.env.CHARIOTS_CA || undefined },
        timeout: { type: 'string', default: '10000' },
        tags: { type: 'string' },
        seed: { type: 'string' },
        'caused-by': { type: 'string', multiple: true },
        prehash: { type: 'string', multiple: true },
        id: { type: 'string' },
        wait: { type: 'boolean' },
        from: { type: 'string' },
        limit: { type: 'string' },
        count: { type: 'string', short: 'n' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (e) {
    throw new Usage(e.message);
  }
  const { values: v, positionals: [cmd, ...args] } = parsed;
  if (v.help || !cmd) {
    process.stdout.write(USAGE + '\n');
    return v.help ? 0 : 2;
  }
  const ca = v.ca ? readFileSync(v.ca) : undefined;
  const client = new Client(v.url, { timeout: Number(v.timeout), token: v.token, ca });
  try {
    switch (cmd) {
      case 'append': {
        const tags = tagsArg(v.tags);
        out(await client.append(tags, { causedBy: await causes(v, client), seed: num('--seed', v.seed), id: v.id, wait: v.wait }));
        break;
      }
      case 'send': {
        const tags = tagsArg(v.tags);
        const b = new Batcher(v.batcher, { timeout: Number(v.timeout), token: v.token, ca });
        const ev = await b.append(tags, { causedBy: await causes(v, client), seed: num('--seed', v.seed), id: v.id });
        await b.close();
        out(ev);
        break;
      }
      case 'get':
        out(await client.get(lid('LID', args[0] ?? '')));
        break;
      case 'status':
        if (!args[0]) throw new Usage('status ID');
        out(await client.status(args[0]));
        break;
      case 'records': {
        let n = 0;
        const limit = v.limit === undefined ? Infinity : Number(v.limit);
        for await (const e of client.iterRecords(lid('--from', v.from ?? '1'))) {
          if (n++ >= limit) break;
          out(e);
        }
        break;
      }
      case 'by-tag':
        if (!args[0]) throw new Usage('by-tag KEY:VALUE');
        for await (const e of client.byTag(args[0], { seed: num('--seed', v.seed), from: lid('--from', v.from ?? '1') })) out(e);
        break;
      case 'trace':
        for (const e of await client.trace(num('SEED', args[0] ?? ''))) out(e);
        break;
      case 'tail': {
        let n = 0;
        const count = v.count === undefined ? Infinity : Number(v.count);
        for await (const e of client.tail(lid('--from', v.from ?? '1'))) {
          out(e);
          if (++n >= count) break;
        }
        break;
      }
      case 'hash':
        if (args.length === 2) out(tagHash(args[0], args[1]));
        else if (args.length === 1) out(fnv1a64(args[0]));
        else throw new Usage('hash KEY VALUE | hash TEXT');
        break;
      default:
        throw new Usage(`unknown command "${cmd}"`);
    }
  } finally {
    client.close();
  }
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e) => {
    process.stderr.write(`chariots: error: ${e.message}\n`);
    if (e instanceof Usage) process.stderr.write('(chariots-js --help for usage)\n');
    process.exitCode = e instanceof Usage ? 2 : 1;
  },
);
