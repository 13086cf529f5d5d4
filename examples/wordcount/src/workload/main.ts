// The workload image's entry point: runs until SIGTERM (instance stop), then seals state and publishes final results.
import { createJsonLinesLogger } from '../cli/json-logger.ts';
import { resolveWordcountConfig } from './resolve-config.ts';
import { runWorkload } from './run.ts';

const logger = createJsonLinesLogger((line) => process.stdout.write(line));
try {
  const workload = await runWorkload({ config: await resolveWordcountConfig(), logger });
  await new Promise<void>((resolve) => {
    process.once('SIGTERM', () => resolve());
    process.once('SIGINT', () => resolve());
  });
  await workload.stop();
} catch (error) {
  logger.error({ error }, 'the workload failed');
  process.exitCode = 1;
}
