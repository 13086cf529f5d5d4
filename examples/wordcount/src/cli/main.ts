// `sealroom-wordcount publish|send|results|workload`: the collaborators' clients and the workload's entry point.
import { loadWordcountConfig } from '../config.ts';
import { runWorkload } from '../workload/run.ts';
import { FlagError, parseGoFlags } from './flags.ts';
import { createJsonLinesLogger } from './json-logger.ts';
import { publishCommand } from './publish.ts';
import { resultsCommand } from './results.ts';
import { sendCommand } from './send.ts';

export interface WordcountIo {
  readonly env?: NodeJS.ProcessEnv;
  readonly stdout?: (text: string) => void;
  readonly stderr?: (text: string) => void;
}

const USAGE = `usage:
  sealroom-wordcount publish --topicProject=P --user=WORD[,WORD…] --kmsKey=projects/…/cryptoKeys/K --audience=//iam… [--mode=envelope|kms] [--topic=cs-topic]
  sealroom-wordcount send --host=H:PORT --server_name=NAME --audience=//iam… --kmsKey=… --user=WORD --ca_files=F --tls_crt=F --tls_key=F [--image_digest=sha256:…]
  sealroom-wordcount results --project=P [--secret=wordcount-results] [--kmsKey=…] [--refresh --topicProject=OP]
  sealroom-wordcount workload   (the image's entry point; configuration from WORDCOUNT_CONFIG or WORDCOUNT_CONFIG_FILE)
`;

/** Runs one command line; returns the exit code (0 ok, 1 failure, 2 usage). */
export async function runWordcount(argv: readonly string[], io: WordcountIo = {}): Promise<number> {
  const env = io.env ?? process.env;
  const stdout = io.stdout ?? ((t: string) => process.stdout.write(t));
  const stderr = io.stderr ?? ((t: string) => process.stderr.write(t));
  const [command, ...rest] = argv;
  const flags = parseGoFlags(rest);
  try {
    switch (command) {
      case 'publish': {
        const outcome = await publishCommand(flags, env);
        stdout(`${JSON.stringify(outcome)}\n`);
        return 0;
      }
      case 'send': {
        stdout(`${JSON.stringify(await sendCommand(flags, env))}\n`);
        return 0;
      }
      case 'results': {
        stdout(`${JSON.stringify(await resultsCommand(flags, env), null, 2)}\n`);
        return 0;
      }
      case 'workload': {
        const logger = createJsonLinesLogger(stdout);
        const workload = await runWorkload({ config: loadWordcountConfig(env), logger });
        await new Promise<void>((resolve) => {
          process.once('SIGTERM', resolve);
          process.once('SIGINT', resolve);
        });
        await workload.stop();
        return 0;
      }
      default:
        stderr(USAGE);
        return 2;
    }
  } catch (error) {
    if (error instanceof FlagError) {
      stderr(`sealroom-wordcount: ${error.message}\n${USAGE}`);
      return 2;
    }
    stderr(`sealroom-wordcount: ${error instanceof Error ? error.message : String(error)}\n`);
    return 1;
  }
}
