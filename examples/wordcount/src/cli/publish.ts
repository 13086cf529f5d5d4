// `sealroom-wordcount publish`: the seed's Pub/Sub client, sealing each word before it leaves the collaborator.
import { type ContributionMode, createContributionSealer } from '../contribution.ts';
import { DEFAULT_TOPIC } from './defaults.ts';
import { type ParsedFlags, FlagError, checkKnownFlags, requireFlag } from './flags.ts';
import { openUserKms, projectOfKey } from './kms.ts';
import { openUserSession } from './user-session.ts';
import { WordcountError } from '../errors.ts';

export const PUBLISH_FLAGS = ['topicProject', 'topic', 'user', 'kmsKey', 'audience', 'collaborator', 'mode', 'api'];

export interface PublishOutcome {
  readonly messageIds: string[];
  readonly collaborator: string;
}

export async function publishCommand(flags: ParsedFlags, env: NodeJS.ProcessEnv): Promise<PublishOutcome> {
  checkKnownFlags(flags, PUBLISH_FLAGS);
  const topicProject = requireFlag(flags, 'topicProject');
  const kmsKey = requireFlag(flags, 'kmsKey');
  // --audience is accepted for the seed's command line; the workload trusts only its own configuration.
  const words = requireFlag(flags, 'user').split(',').filter(Boolean);
  const mode = (flags.values.get('mode') ?? 'envelope') as ContributionMode;
  if (mode !== 'envelope' && mode !== 'kms') throw new FlagError('--mode is envelope or kms');
  const collaborator = flags.values.get('collaborator') ?? projectOfKey(kmsKey);
  const session = await openUserSession(flags.values.get('api'), env);
  const kms = openUserKms(session, kmsKey);
  try {
    const sealer = createContributionSealer({ collaborator, wrapper: kms.wrapper, mode });
    const messages = [];
    for (const word of words) {
      const wire = await sealer.seal(word);
      messages.push({ data: wire.data.toString('base64'), attributes: wire.attributes });
    }
    const topic = `projects/${topicProject}/topics/${flags.values.get('topic') ?? DEFAULT_TOPIC}`;
    const response = await session.fetch(`${session.api}/v1/${topic}:publish`, {
      method: 'POST',
      headers: { authorization: `Bearer ${session.accessToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ messages }),
    });
    const text = await response.text();
    if (!response.ok)
      throw new WordcountError(
        'ERR_WORDCOUNT_REQUEST_FAILED',
        `publishing to ${topic} failed (${response.status}): ${text.slice(0, 300)}`,
      );
    return { messageIds: (JSON.parse(text) as { messageIds: string[] }).messageIds, collaborator };
  } finally {
    await kms.close();
  }
}
