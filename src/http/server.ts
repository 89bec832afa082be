import { readFileSync } from 'node:fs';
import { loadConfig } from '../config/index.js';
import { createServices } from '../services.js';
import { buildApp } from './app.js';
import { createLogger } from './logger.js';

const config = loadConfig();
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
  logger.fatal({ err }, 'latchkey could not start');
  process.exit(1);
}
