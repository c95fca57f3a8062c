// What can go wrong, as error classes a caller can tell apart (instanceof, or err.name).

/** Base of every error about the server or the network. `status`: HTTP status (undefined for network errors); `body`: the server's answer. */
export class ChariotsError extends Error {
  constructor(message, { status, body, cause } = {}) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = this.constructor.name;
    this.status = status;
    this.body = body;
  }
}

/** 400: the server names `field` (record field) or `parameter` (query parameter) and `problem`; `errors` per record of an array. */
export class BadRequestError extends ChariotsError {
  constructor(message, opts = {}) {
    super(message, opts);
    const b = opts.body && typeof opts.body === 'object' ? opts.body : {};
    this.field = b.field;
    this.parameter = b.parameter;
    this.problem = b.problem;
    this.errors = b.errors ?? [];
  }
}

/** 404: no such record. */
export class NotFoundError extends ChariotsError {}

/** 503 after the retries, or the server could not be reached; retrying with the same id is safe. `retryAfter` in seconds. */
export class UnavailableError extends ChariotsError {
  constructor(message, opts = {}) {
    super(message, opts);
    this.retryAfter = opts.retryAfter;
  }
}

/** 504 on a durable append, or no answer in time: the record may still be appended; retry with the same `id`. */
export class TimeoutError extends ChariotsError {
  constructor(message, opts = {}) {
    super(message, opts);
    this.id = opts.id;
  }
}

/** 409: the log rejected the record; `reason` says why. */
export class RejectedError extends ChariotsError {
  constructor(message, opts = {}) {
    super(message, opts);
    const b = opts.body && typeof opts.body === 'object' ? opts.body : {};
    this.id = opts.id ?? b.id;
    this.reason = b.reason ?? b.error;
  }
}

/** Any other unexpected answer. */
export class ServerError extends ChariotsError {}
