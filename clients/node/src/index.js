// Chariots client: append events to the shared log and read them back. Every 64-bit value
// (seed, prehash, LId) is a BigInt; JSON goes through ./json.js so none loses a digit.
export { U64_MAX, Cause, Event, Record, causedBy, fnv1a64, newId, randomSeed, tagHash, u64 } from './core.js';
export { BadRequestError, ChariotsError, NotFoundError, RejectedError, ServerError, TimeoutError, UnavailableError } from './errors.js';
export { Client, DEFAULT_URL } from './http.js';
export { Batcher, DEFAULT_BATCHER, frame } from './tcp.js';
export { parse, stringify } from './json.js';
