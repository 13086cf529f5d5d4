// `sealroom-wordcount results`: fetches this collaborator's sealed result from its own secret and opens it.
import { openResult } from '../results.ts';
import type { WordcountResult } from '../tally.ts';
import { DEFAULT_RESULT_SECRET } from './defaults.ts';
import { type ParsedFlags, checkKnownFlags, requireFlag } from './flags.ts';
import { openUserKms } from './kms.ts';
import { openUserSession } from './user-session.ts';

export const RESULTS_FLAGS = ['project', 'secret', 'kmsKey', 'collaborator', 'api'];

export async function resultsCommand(flags: ParsedFlags, env: NodeJS.ProcessEnv): Promise<WordcountResult> {
  checkKnownFlags(flags, RESULTS_FLAGS);
  const project = requireFlag(flags, 'project');
  const kmsKey = flags.values.get('kmsKey') ?? `projects/${project}/locations/global/keyRings/kr1/cryptoKeys/key1`;
  const collaborator = flags.values.get('collaborator') ?? project;
  const secret = `projects/${project}/secrets/${flags.values.get('secret') ?? DEFAULT_RESULT_SECRET}`;
  const session = await openUserSession(flags.values.get('api'), env);
  const response = await fetch(`${session.api}/v1/${secret}/versions/latest:access`, {
    headers: { authorization: `Bearer ${session.accessToken}` },
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`reading ${secret} failed (${response.status}): ${text.slice(0, 300)}`);
  const payload = Buffer.from((JSON.parse(text) as { payload: { data: string } }).payload.data, 'base64');
  const kms = openUserKms(session, kmsKey);
  try {
    return await openResult(payload, collaborator, kms.wrapper);
  } finally {
    await kms.close();
  }
}
