// The workload image's entry point: `sealroom-wordcount workload` with the launch configuration from the environment.
import { runWordcount } from '../cli/main.ts';

process.exitCode = await runWordcount(['workload']);
