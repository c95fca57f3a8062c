// FNV-1a-64, unsigned 64-bit values, events, causes and records to append: no I/O here.
import { randomBytes } from 'node:crypto';

export const U64_MAX = (1n << 64n) - 1n;
const FNV_OFFSET = 14695981039346656037n;
const FNV_PRIME = 1099511628211n;
const encoder = new TextEncoder();

/**
 * FNV-1a 64-bit of the UTF-8 bytes of `text` (a string, or bytes), unsigned.
 * @param {string|Uint8Array} text
 * @returns {bigint}
 */
export function fnv1a64(text) {
  const bytes = typeof text === 'string' ? encoder.encode(text) : text;
  if (!(bytes instanceof Uint8Array)) throw new TypeError(`fnv1a64 takes a string or a Uint8Array, got ${typeof text}`);
  // Two 32-bit halves in Numbers: exact and ~20x faster than BigInt per byte.
  let hi = 0xcbf29ce4, lo = 0x84222325;
  for (let i = 0; i < bytes.length; i++) {
    lo ^= bytes[i];
    // (hi:lo) * 0x100000001b3 mod 2^64 = (hi:lo) * 0x1b3 + (lo << 40)
    const lo16 = lo & 0xffff, lo32h = lo >>> 16;
    const a = lo16 * 0x1b3;
    const b = lo32h * 0x1b3 + (a >>> 16);
    const newLo = ((b & 0xffff) << 16 | (a & 0xffff)) >>> 0;
    const carry = Math.floor(b / 0x10000);
    hi = (Math.imul(hi, 0x1b3) + carry + ((lo << 8) >>> 0)) >>> 0;
    lo = newLo;
  }
  return (BigInt(hi) << 32n) | BigInt(lo);
}

/**
 * The hash a cause names: FNV-1a-64 of `key + ":" + value` (UTF-8), unsigned.
 * @returns {bigint}
 */
export function tagHash(key, value) {
  return fnv1a64(text('tag key', key) + ':' + text('tag value', value));
}

/**
 * `value` as a BigInt in 0..2^64-1: a BigInt, a safe-integer Number, or a decimal string.
 * Throws TypeError/RangeError naming `name` otherwise (before anything is sent).
 * @returns {bigint}
 */
export function u64(name, value) {
  let v;
  if (typeof value === 'bigint') v = value;
  else if (typeof value === 'number') {
    if (!Number.isInteger(value)) throw new TypeError(`${name} must be a whole number in 0..2^64-1, got ${value}`);
    if (!Number.isSafeInteger(value)) {
      throw new TypeError(`${name} ${value} is beyond 2^53 and may already have lost digits: pass a BigInt (e.g. ${name}: 18446744073709551615n)`);
    }
    v = BigInt(value);
  } else if (typeof value === 'string' && /^-?\d+$/.test(value)) v = BigInt(value);
  else throw new TypeError(`${name} must be a BigInt in 0..2^64-1, got ${typeof value} ${String(value)}`);
  if (v < 0n || v > U64_MAX) throw new RangeError(`${name} must be in 0..18446744073709551615 (unsigned 64-bit), got ${v}`);
  return v;
}

/** A random non-zero 64-bit seed for a new chain. */
export function randomSeed() {
  return randomBytes(8).readBigUInt64BE() || 1n;
}

/** A random 128-bit id, in hex: the record's idempotency key. */
export function newId() {
  return randomBytes(16).toString('hex');
}

function text(name, v) {
  if (typeof v !== 'string') throw new TypeError(`${name} must be a string, got ${typeof v} ${String(v)}`);
  return v;
}

function checkTags(tags) {
  if (tags === null || typeof tags !== 'object' || Array.isArray(tags)) {
    throw new TypeError(`tags must be an object of string values, got ${Array.isArray(tags) ? 'an array' : typeof tags}`);
  }
  const out = {};
  for (const [k, v] of Object.entries(tags)) out[k] = text(`value of tag "${k}"`, v);
  return out;
}

/** A cause: prehash = FNV-1a-64("key:value") of an earlier event's tag, and that event's seed. */
export class Cause {
  constructor(prehash, seed, label) {
    this.prehash = u64('prehash', prehash);
    this.seed = u64('seed', seed);
    if (label !== undefined) this.label = label;
  }
}

/**
 * A record of the log, as appended or read back. 64-bit fields (seed, prehash, lid, toid, causes) are BigInt.
 * `host` is its datacenter of origin, `toid` its number among that datacenter's records (1n, 2n, 3n…);
 * each is null when the server did not say (`toid`: records written before the server numbered them).
 */
export class Event {
  constructor({ id, seed, tags, prehash = [], lid = null, host = null, toid = null, timestamp = null, causes }) {
    this.id = id ?? null;
    this.seed = seed;
    this.tags = tags;
    this.prehash = prehash;
    this.lid = lid;
    this.host = host;
    this.toid = toid;
    this.timestamp = timestamp;
    if (causes !== undefined) this.causes = causes;
  }

  /** An event from a record as the server prints it (either field-name shape; parsed with json.parse). */
  static fromJSON(d) {
    const f = {};
    for (const [k, v] of Object.entries(d)) f[k.toLowerCase()] = v;
    let pre = f.prehash;
    if (pre === undefined && f.pre && typeof f.pre === 'object') {
      for (const [k, v] of Object.entries(f.pre)) if (k.toLowerCase() === 'hash') pre = v;
    }
    const list = pre === undefined || pre === null ? [] : Array.isArray(pre) ? pre : [pre];
    return new Event({
      id: f.id ?? null,
      seed: BigInt(f.seed ?? 0),
      tags: f.tags ?? {},
      prehash: list.map((x) => BigInt(x)).filter((x) => x !== 0n),
      lid: f.lid === undefined || f.lid === null ? null : BigInt(f.lid),
      host: f.host ?? null,
      toid: f.toid === undefined || f.toid === null ? null : BigInt(f.toid),
      timestamp: f.timestamp === undefined ? null : Number(f.timestamp),
      causes: Array.isArray(f.causes) ? f.causes.map((x) => BigInt(x)) : undefined,
    });
  }

  /** A plain object (unset fields left out) for json.stringify; BigInt stays BigInt. */
  toJSON() {
    const d = {};
    if (this.lid !== null) d.lid = this.lid;
    if (this.host !== null) d.host = this.host;
    if (this.toid !== null) d.toid = this.toid;
    d.id = this.id;
    d.tags = this.tags;
    d.seed = this.seed;
    d.prehash = this.prehash.length > 1 ? this.prehash : (this.prehash[0] ?? 0n);
    if (this.timestamp !== null) d.timestamp = this.timestamp;
    if (this.causes !== undefined) d.causes = this.causes;
    return d;
  }

  /** FNV-1a-64 of this event's tag `key`. */
  tagHash(key) {
    if (!Object.prototype.hasOwnProperty.call(this.tags, key)) {
      throw new RangeError(`event ${this.id} has no tag "${key}" (its tags: ${Object.keys(this.tags).sort().join(', ') || 'none'})`);
    }
    return tagHash(key, this.tags[key]);
  }
}

/**
 * The cause naming `event`'s tag `key` (its only tag if `key` is left out).
 * @param {Event} event
 * @param {string} [key]
 */
export function causedBy(event, key) {
  if (!(event instanceof Event)) throw new TypeError('causedBy takes an Event (from append, get, records, …)');
  if (key === undefined) {
    const keys = Object.keys(event.tags);
    if (keys.length !== 1) {
      throw new RangeError(`event ${event.id} has ${keys.length} tags (${keys.sort().join(', ')}): say which one names it, causedBy(event, key)`);
    }
    key = keys[0];
  }
  return new Cause(event.tagHash(key), event.seed, `${key}:${event.tags[key]}`);
}

function causes(given) {
  if (given === undefined || given === null) return [];
  const list = Array.isArray(given) ? given : [given];
  const out = [];
  for (let c of list) {
    if (c instanceof Event) c = causedBy(c);
    else if (!(c instanceof Cause)) throw new TypeError('a cause must be a Cause (causedBy(event, key)) or an Event');
    if (!out.some((o) => o.prehash === c.prehash && o.seed === c.seed)) out.push(c);
  }
  return out;
}

/**
 * A record to append, checked and completed: with causes and no seed the seed is theirs; with
 * neither, a new chain gets a random seed; the id is generated unless given.
 */
export class Record {
  constructor(tags, { causedBy: given, seed, id } = {}) {
    this.tags = checkTags(tags);
    this.causes = causes(given);
    const seeds = [...new Set(this.causes.map((c) => c.seed))];
    if (seeds.length > 1) {
      throw new RangeError(`all causes of one record must share its seed; got causes from chains ${seeds.join(', ')}`);
    }
    if (seed !== undefined && seed !== null) {
      seed = u64('seed', seed);
      if (seeds.length && seeds[0] !== seed) {
        throw new RangeError(`seed ${seed} differs from the seed of its causes (${seeds[0]}): a cause is found only within its chain`);
      }
    } else seed = seeds.length ? seeds[0] : randomSeed();
    this.seed = seed;
    this.id = id === undefined || id === null ? newId() : text('id', id);
    if (!this.id) throw new RangeError('id must not be empty');
  }

  get prehash() {
    return this.causes.map((c) => c.prehash);
  }

  toHTTP() {
    const p = this.prehash;
    return { id: this.id, tags: this.tags, seed: this.seed, prehash: p.length > 1 ? p : (p[0] ?? 0n) };
  }

  /** GoChariots' field names; several causes as a Prehash array. */
  toTCP() {
    const p = this.prehash;
    const d = { Id: this.id, Tags: this.tags, Seed: this.seed };
    if (p.length > 1) d.Prehash = p;
    else d.Pre = { Hash: p[0] ?? 0n };
    return d;
  }

  event(lid = null, host = null) {
    return new Event({ id: this.id, seed: this.seed, tags: this.tags, prehash: this.prehash, lid, host });
  }
}

/** A Record from a Record, or from `{tags, causedBy, seed, id}`. */
export function asRecord(item) {
  if (item instanceof Record) return item;
  if (item && typeof item === 'object' && item.tags && typeof item.tags === 'object') {
    return new Record(item.tags, item);
  }
  throw new TypeError('expected a Record or {tags, causedBy?, seed?, id?}');
}

/** Splits append's second argument: a cause, an Event, an array of them, or options. */
export function appendOptions(arg) {
  if (arg === undefined || arg === null) return {};
  if (arg instanceof Cause || arg instanceof Event || Array.isArray(arg)) return { causedBy: arg };
  return arg;
}
