// The seed's Go client command lines parse unchanged.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkKnownFlags, FlagError, parseGoFlags, requireFlag } from './flags.ts';

describe('parseGoFlags', () => {
  it('reads the seed pubsub client line (--flag=value and quoted values)', () => {
    const flags = parseGoFlags([
      '--topicProject=operator-project',
      '--user=alice',
      '--kmsKey=projects/c1/locations/global/keyRings/kr1/cryptoKeys/key1',
      '--audience=//iam.googleapis.com/projects/1/locations/global/workloadIdentityPools/p/providers/v',
    ]);
    assert.equal(flags.values.get('topicProject'), 'operator-project');
    assert.equal(flags.values.get('audience')?.startsWith('//iam.'), true);
  });

  it('reads the seed http client line (--flag value, single dash, booleans)', () => {
    const flags = parseGoFlags([
      '--host',
      '127.0.0.1:8081',
      '-server_name=tee.collaborator1.com',
      '--allow_debug',
      '--user',
      'alice',
    ]);
    assert.equal(flags.values.get('host'), '127.0.0.1:8081');
    assert.equal(flags.values.get('server_name'), 'tee.collaborator1.com');
    assert.equal(flags.values.get('allow_debug'), 'true');
    assert.equal(requireFlag(flags, 'user'), 'alice');
  });

  it('names a missing required flag and an unknown flag', () => {
    const flags = parseGoFlags(['--usr=alice']);
    assert.throws(() => requireFlag(flags, 'user'), /--user is required/);
    assert.throws(() => checkKnownFlags(flags, ['user']), /unknown flag: --usr/);
  });

  it('a flag error is the catalogued usage error', () => {
    assert.throws(
      () => requireFlag(parseGoFlags([]), 'user'),
      (error: unknown) => error instanceof FlagError && error.code === 'ERR_WORDCOUNT_USAGE',
    );
  });
});
