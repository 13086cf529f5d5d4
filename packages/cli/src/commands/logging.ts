// `sealroom logging read|verify`: a project's audit and workload log, newest last, and its chain check.
import type { CommandSpec } from '../command.ts';

export const loggingCommands: CommandSpec[] = [
  {
    path: ['logging', 'read'],
    summary: "Prints the project's audit and workload log entries, newest last.",
    args: [{ name: 'FILTER' }],
    flags: { limit: { type: 'string', description: 'At most this many entries (the newest ones).' } },
    async run(ctx) {
      const limit = ctx.flags.limit === undefined ? 1000 : Number(ctx.flags.limit);
      const result = await ctx.api.request<{ entries?: unknown[] }>('POST', '/v2/entries:list', {
        body: {
          resourceNames: [`projects/${ctx.project()}`],
          orderBy: 'timestamp desc',
          pageSize: Math.max(1, Math.min(1000, limit)),
          ...(ctx.args.FILTER ? { filter: ctx.args.FILTER } : {}),
        },
      });
      return (result.entries ?? []).reverse();
    },
  },
  {
    path: ['logging', 'verify'],
    summary: "Verifies the project log's hash chain (detects edited or removed entries).",
    async run(ctx) {
      return ctx.api.request('GET', `/v1/projects/${encodeURIComponent(ctx.project())}/logs:verify`);
    },
  },
];
