// JSON that keeps 64-bit integers exact: integers beyond 2^53 parse to BigInt, BigInt prints as a
// bare JSON number (not a string). JSON.parse/JSON.stringify would round or throw.

/**
 * Parses JSON text. Integer literals that are not safe integers become BigInt (exact); every
 * other number is a Number. Callers that want a BigInt whatever the size convert with BigInt(x).
 * @param {string} text
 */
export function parse(text) {
  let i = 0;
  const n = text.length;
  const fail = (what) => {
    throw new SyntaxError(`invalid JSON at position ${i}: ${what}`);
  };
  const ws = () => {
    while (i < n) {
      const c = text.charCodeAt(i);
      if (c === 32 || c === 9 || c === 10 || c === 13) i++;
      else break;
    }
  };
  const value = () => {
    ws();
    if (i >= n) fail('unexpected end');
    const c = text[i];
    if (c === '{') {
      i++;
      const obj = {};
      ws();
      if (text[i] === '}') {
        i++;
        return obj;
      }
      for (;;) {
        ws();
        if (text[i] !== '"') fail('expected a string key');
        const k = string();
        ws();
        if (text[i] !== ':') fail("expected ':'");
        i++;
        const v = value();
        Object.defineProperty(obj, k, { value: v, enumerable: true, writable: true, configurable: true });
        ws();
        if (text[i] === ',') {
          i++;
        } else if (text[i] === '}') {
          i++;
          return obj;
        } else fail("expected ',' or '}'");
      }
    }
    if (c === '[') {
      i++;
      const arr = [];
      ws();
      if (text[i] === ']') {
        i++;
        return arr;
      }
      for (;;) {
        arr.push(value());
        ws();
        if (text[i] === ',') {
          i++;
        } else if (text[i] === ']') {
          i++;
          return arr;
        } else fail("expected ',' or ']'");
      }
    }
    if (c === '"') return string();
    if (text.startsWith('true', i)) {
      i += 4;
      return true;
    }
    if (text.startsWith('false', i)) {
      i += 5;
      return false;
    }
    if (text.startsWith('null', i)) {
      i += 4;
      return null;
    }
    return number();
  };
  const string = () => {
    const start = i;
    i++;
    let escaped = false;
    while (i < n) {
      const c = text.charCodeAt(i);
      if (c === 34 /* " */) {
        i++;
        const raw = text.slice(start, i);
        return escaped ? JSON.parse(raw) : raw.slice(1, -1);
      }
      if (c === 92 /* \ */) {
        escaped = true;
        i += 2;
      } else {
        if (c < 32) fail('control character in string');
        i++;
      }
    }
    return fail('unterminated string');
  };
  const number = () => {
    const m = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/.exec(text.slice(i, i + 400));
    if (!m || m[0] === '' || m[0] === '-') fail('unexpected character');
    i += m[0].length;
    if (m[2] === undefined && m[3] === undefined) {
      const num = Number(m[0]);
      return Number.isSafeInteger(num) ? num : BigInt(m[0]);
    }
    return Number(m[0]);
  };
  const out = value();
  ws();
  if (i !== n) fail('trailing characters');
  return out;
}

/**
 * Writes JSON; BigInt values print as exact decimal numbers. Honours toJSON(); leaves out
 * undefined and function values in objects, as JSON.stringify does.
 * @param {unknown} value
 */
export function stringify(value) {
  return write(value);
}

function write(v) {
  if (v === null || v === undefined) return 'null';
  if (typeof v === 'bigint') return v.toString(10);
  if (typeof v === 'number') return Number.isFinite(v) ? JSON.stringify(v) : 'null';
  if (typeof v === 'string' || typeof v === 'boolean') return JSON.stringify(v);
  if (typeof v.toJSON === 'function') return write(v.toJSON());
  if (Array.isArray(v)) return '[' + v.map((x) => (x === undefined || typeof x === 'function' ? 'null' : write(x))).join(',') + ']';
  const parts = [];
  for (const k of Object.keys(v)) {
    const x = v[k];
    if (x === undefined || typeof x === 'function' || typeof x === 'symbol') continue;
    parts.push(JSON.stringify(k) + ':' + write(x));
  }
  return '{' + parts.join(',') + '}';
}
