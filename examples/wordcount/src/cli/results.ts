// `sealroom-wordcount results`: fetches this collaborator's sealed result from its own secret and opens it.
import { ATTR_COLLABORATOR, ATTR_COMMAND, PUBLISH_RESULTS_COMMAND } from '../contribution.ts';
import { openResult } from '../results.ts';
import type { WordcountResult } from '../tally.ts';
import { DEFAULT_RESULT_SECRET, DEFAULT_TOPIC } from './defaults.ts';
import { type ParsedFlags, checkKnownFlags, requireFlag } from './flags.ts';
import { openUserKms } from './kms.ts';
import { openUserSession } from './user-session.ts';
import { WordcountError } from '../errors.ts';

export const RESULTS_FLAGS = ['project', 'secret', 'kmsKey', 'collaborator', 'api', 'refresh', 'topicProject', 'topic'];
const REFRESH_TIMEOUT_MS = 30_000;

export async function resultsCommand(flags: ParsedFlags, env: NodeJS.ProcessEnv): Promise<WordcountResult> {
  checkKnownFlags(flags, RESULTS_FLAGS);
  const project = requireFlag(flags, 'project');
  const kmsKey = flags.values.get('kmsKey') ?? `projects/${project}/locations/global/keyRings/kr1/cryptoKeys/key1`;
  const collaborator = flags.values.get('collaborator') ?? project;
  const secret = `projects/${project}/secrets/${flags.values.get('secret') ?? DEFAULT_RESULT_SECRET}`;
  const session = await openUserSession(flags.values.get('api'), env);
  const latest = async () => {
    const response = await session.fetch(`${session.api}/v1/${secret}/versions/latest:access`, {
      headers: { authorization: `Bearer ${session.accessToken}` },
    });
    const text = await response.text();
    if (response.status === 404) return undefined;
    if (!response.ok)
      throw new WordcountError(
        'ERR_WORDCOUNT_REQUEST_FAILED',
        `reading ${secret} failed (${response.status}): ${text.slice(0, 300)}`,
      );
    return JSON.parse(text) as { name: string; payload: { data: string } };
  };
  let version = await latest();
  if (flags.values.get('refresh') === 'true') {
    // Ask the workload for a result now, then wait for a newer version than the one we had.
    const before = version?.name;
    const topic = `projects/${requireFlag(flags, 'topicProject')}/topics/${flags.values.get('topic') ?? DEFAULT_TOPIC}`;
    const message = {
      data: '',
      attributes: { [ATTR_COMMAND]: PUBLISH_RESULTS_COMMAND, [ATTR_COLLABORATOR]: collaborator },
    };
    const published = await session.fetch(`${session.api}/v1/${topic}:publish`, {
      method: 'POST',
      headers: { authorization: `Bearer ${session.accessToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ messages: [message] }),
    });
    if (!published.ok)
      throw new WordcountError(
        'ERR_WORDCOUNT_REQUEST_FAILED',
        `asking for results on ${topic} failed (${published.status})`,
      );
    const deadline = Date.now() + REFRESH_TIMEOUT_MS;
    while (version?.name === before) {
      if (Date.now() > deadline)
        throw new WordcountError('ERR_WORDCOUNT_NO_RESULT', 'the workload published no newer result within 30 s');
      await new Promise((resolve) => setTimeout(resolve, 250));
      version = await latest();
    }
  }
  if (!version) throw new WordcountError('ERR_WORDCOUNT_NO_RESULT', `${secret} has no result yet`);
  const payload = Buffer.from(version.payload.data, 'base64');
  const kms = openUserKms(session, kmsKey);
  try {
    return await openResult(payload, collaborator, kms.wrapper);
  } finally {
    await kms.close();
  }
}
