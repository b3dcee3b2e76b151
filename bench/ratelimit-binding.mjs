// The Workers Rate Limiting binding in raw workerd, the same for every contender: workerd has
// no built-in one, so bench/workerd.mjs declares it as a wrapped binding around this module
// (an internal extension module), with the inner bindings `limit` and `period` (JSON) that
// wrangler.toml's `simple = { limit, period }` gives — the shape miniflare gives its binding.
// `limit({key})` resolves to `{success}`: a fixed window aligned to the clock, counted in
// memory for the isolate (as miniflare counted before it moved the buckets to a Durable
// Object; here no subrequest per call, closer to the production binding's local counter).
const OPTION_KEYS = ['key', 'limit', 'period', 'delta'];
const PERIODS = [10, 60];
const MAX_UINT32 = 4294967295;

function validate(test, message) {
  if (!test) throw new Error(message);
}

/** A positive integer weight, as the binding's `delta` option takes it. */
function toDelta(delta) {
  const value = +delta;
  if (!Number.isFinite(value)) throw new TypeError('The value cannot be converted because it is not an integer.');
  if (value < 0) throw new TypeError('The value cannot be converted because it is negative and this API expects a positive number.');
  if (value > MAX_UINT32) throw new TypeError(`Value out of range. Must be less than or equal to ${MAX_UINT32}.`);
  const truncated = Math.trunc(value);
  if (truncated === 0) throw new RangeError('delta must be non-zero');
  return truncated;
}

class RateLimit {
  #limit;
  #period;
  /** period → { epoch, counts: Map(key → count) }: every key of a period rolls over at once. */
  #windows = new Map();

  constructor(env) {
    this.#limit = env.limit;
    this.#period = env.period;
  }

  /** Counts one request (`delta` of them) for `key`; `{success: false}` once the window holds
   *  `limit` (a refused request is not counted). */
  async limit(options) {
    validate(typeof options === 'object' && options !== null, 'invalid rate limit options');
    const invalid = Object.keys(options).filter((k) => !OPTION_KEYS.includes(k));
    validate(invalid.length === 0, `bad rate limit options: [${invalid.join(',')}]`);
    const { key = '', limit = this.#limit, period = this.#period, delta = 1 } = options;
    validate(typeof key === 'string', `invalid key: ${key}`);
    validate(typeof limit === 'number', `limit must be a number: ${limit}`);
    validate(typeof period === 'number', `period must be a number: ${period}`);
    validate(PERIODS.includes(period), `unsupported period: ${period}`);
    const weight = toDelta(delta);
    const epoch = Math.floor(Date.now() / (period * 1000));
    let window = this.#windows.get(period);
    if (window === undefined || window.epoch !== epoch) {
      window = { epoch, counts: new Map() };
      this.#windows.set(period, window);
    }
    const count = window.counts.get(key) ?? 0;
    if (count >= limit) return { success: false };
    window.counts.set(key, count + weight);
    return { success: true };
  }
}

/** The wrapped binding's entry point: workerd calls it once with the inner bindings. */
export default function makeBinding(env) {
  return new RateLimit(env);
}
