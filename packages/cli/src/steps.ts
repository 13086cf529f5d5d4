// Step lines for long work: `✓ pushed image sha256:… (1.2 s)` when a step ends; on a terminal, a line that
// counts the seconds while it runs (redrawn in place); elsewhere (a pipe, a log, --quiet) only the end.
import type { CommandContext } from './command.ts';

const REDRAW_MS = 200;

/** Runs `work`, then prints `✓ ${done(result)} (N.N s)`; `running` names it while it runs (terminals only). */
export async function runStep<T>(
  ctx: Pick<CommandContext, 'interactive' | 'progress'>,
  running: string,
  work: () => Promise<T>,
  done: (result: T) => string,
): Promise<T> {
  const started = performance.now();
  const seconds = () => ((performance.now() - started) / 1000).toFixed(1);
  const timer = ctx.interactive
    ? setInterval(() => ctx.progress(`… ${running} (${seconds()} s)`), REDRAW_MS).unref()
    : undefined;
  if (ctx.interactive) ctx.progress(`… ${running}`);
  try {
    const result = await work();
    clearInterval(timer);
    ctx.progress(`✓ ${done(result)} (${seconds()} s)`, true);
    return result;
  } finally {
    clearInterval(timer);
  }
}
