import type { FastifyReply, FastifyRequest } from 'fastify';
import { pino, type DestinationStream, type Logger } from 'pino';
import { REDACTED } from '../domain/tokens/format.js';
import { redactUrl } from './redact.js';

/**
 * JSON logs that never carry a credential: requests are logged as method, redacted URL and
 * address only (no headers), and any header object that slips in has its secrets censored.
 */
export function createLogger(level: string, destination?: DestinationStream): Logger {
  const options: pino.LoggerOptions = {
    level,
    redact: {
      paths: ['req.headers.authorization', 'req.headers.cookie', 'headers.authorization', 'headers.cookie', 'token', '*.token', 'password', '*.password'],
      censor: REDACTED,
    },
    serializers: {
      req: (req: FastifyRequest) => ({ method: req.method, url: redactUrl(req.url), remoteAddress: req.ip }),
      res: (res: FastifyReply) => ({ statusCode: res.statusCode }),
    },
  };
  return destination ? pino(options, destination) : pino(options);
}
