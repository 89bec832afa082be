// autocannon ships no types: only the part of its programmatic API the benchmark uses.
declare module 'autocannon' {
  namespace autocannon {
    /** The request autocannon is about to send; setupRequest returns it changed (a body per request). */
    type Request = { method?: string; path?: string; headers?: Record<string, string>; body?: string | Buffer };
    type Options = {
      url: string;
      method?: 'GET' | 'POST';
      requests?: Array<{ setupRequest?: (request: Request, context: Record<string, unknown>) => Request }>;
      connections?: number;
      pipelining?: number;
      duration?: number;
      amount?: number;
      /** Requests per second across all connections (unlimited when absent). */
      overallRate?: number;
      headers?: Record<string, string>;
    };
    type Result = {
      duration: number;
      errors: number;
      timeouts: number;
      non2xx: number;
      '2xx': number;
      requests: { total: number };
      /** Answers counted by status code. */
      statusCodeStats: Record<string, { count: number }>;
    };
    /** Also emits 'response' (client, statusCode, bytes, responseTimeMs) for every answer. */
    type Instance = import('node:events').EventEmitter & PromiseLike<Result>;
  }
  function autocannon(options: autocannon.Options): autocannon.Instance;
  export = autocannon;
}
