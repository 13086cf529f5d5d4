// The process a host agent starts for each boot of an instance: `sealroom launcher` with the flags it was given,
// or, with `--spare`, started ahead of its boot: its modules are loaded before the host hands it the boot's flags
// on the report channel (fd 3), so a boot does not wait for Node.js to start.
import { parseArgs } from 'node:util';
import { LAUNCHER_FLAGS, type LauncherFlags, createSerialLogger, openLauncherChannel } from '@sealroom/launcher';
import { runLauncher } from './launcher-program.ts';

const SPARE_FD = 3;

const { values } = parseArgs({
  args: process.argv.slice(2),
  options: {
    ...Object.fromEntries(Object.keys(LAUNCHER_FLAGS).map((name) => [name, { type: 'string' as const }])),
    spare: { type: 'boolean' },
  },
  strict: true,
});
// The program's own log goes to stderr (the host agent's log); the instance's serial output is the report channel.
const logger = createSerialLogger((line) => process.stderr.write(`${line}\n`));
if (values.spare === true) {
  const channel = openLauncherChannel(SPARE_FD);
  const flags = await channel.boot();
  if (flags === undefined) await channel.close();
  else process.exitCode = await runLauncher(flags as LauncherFlags, logger, channel);
} else {
  const { spare: _spare, ...flags } = values;
  process.exitCode = await runLauncher(flags as LauncherFlags, logger);
}
