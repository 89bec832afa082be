import { readFileSync } from 'node:fs';
import { loadConfig, type Config } from '../config/index.js';
import { createServices } from '../services.js';
import { buildApp } from './app.js';
import { createLogger } from './logger.js';

/** A refusal to start, for whoever started the server: one line on stderr, no stack. */
function refuseToStart(err: unknown): never {
  process.stderr.write(`latchkey: could not start: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
}

let config: Config;
try {
  config = loadConfig();
} catch (err) {
  refuseToStart(err);
}
const logger = createLogger(config.logLevel);

try {
  const services = await createServices(config, { logger });
  const tls = config.tlsCertFile && config.tlsKeyFile
    ? { cert: readFileSync(config.tlsCertFile), key: readFileSync(config.tlsKeyFile) }
    : undefined;
  const app = await buildApp(services, { logger, ...(tls && { tls }) });
  const close = async (signal: string) => {
    logger.info({ signal }, 'shutting down');
    await app.close();
    await services.close();
    process.exit(0);
  };
  process.once('SIGINT', () => void close('SIGINT'));
  process.once('SIGTERM', () => void close('SIGTERM'));
  await app.listen({ host: config.host, port: config.port });
} catch (err) {
  // In the log for its pipeline (with the stack), and said plainly to whoever is starting it.
  logger.fatal({ err }, 'latchkey could not start');
  refuseToStart(err);
}
