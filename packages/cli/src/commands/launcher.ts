// `sealroom launcher`: the instance's init, the program every host agent starts for each boot (docs/launcher.md).
import { runLauncher } from '@sealroom/compute';
import { LAUNCHER_FLAGS } from '@sealroom/launcher';
import { createPinoLogger } from '@sealroom/server';
import type { CommandSpec } from '../command.ts';

export const launcherCommands: readonly CommandSpec[] = [
  {
    path: ['launcher'],
    summary:
      "Runs an instance's launcher: reads the instance from its metadata server, boots the platform, attests and runs the workload.",
    flags: LAUNCHER_FLAGS,
    async run(ctx) {
      // The program's own log goes to stderr; the instance's serial output to stdout (or the report channel).
      const logger = createPinoLogger('warn');
      const flags: Record<string, string> = {};
      for (const name of Object.keys(LAUNCHER_FLAGS)) {
        const value = ctx.flags[name];
        if (typeof value === 'string') flags[name] = value;
      }
      process.exitCode = await runLauncher(flags, logger);
      return undefined;
    },
  },
];
