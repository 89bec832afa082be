// autocannon ships no types: only the part of its programmatic API the benchmark uses.
declare module 'autocannon' {
  namespace autocannon {
    type Options = {
      url: string;
      connections?: number;
      pipelining?: number;
      duration?: number;
      headers?: Record<string, string>;
    };
    type Result = {
      duration: number;
      errors: number;
      timeouts: number;
      non2xx: number;
      '2xx': number;
      requests: { total: number };
    };
    /** Also emits 'response' (client, statusCode, bytes, responseTimeMs) for every answer. */
    type Instance = import('node:events').EventEmitter & PromiseLike<Result>;
  }
  function autocannon(options: autocannon.Options): autocannon.Instance;
  export = autocannon;
}
