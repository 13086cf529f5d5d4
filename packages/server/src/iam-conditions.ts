// Evaluates IAM condition expressions (policy version 3) with CEL: `request.time` and `resource.name|type|service`.
import { timestampFromMs } from '@bufbuild/protobuf/wkt';
import { type CelProgram, compileCel } from '@sealroom/cel';
import type { ConditionEvaluator } from '@sealroom/iam';

const MAX_CONDITION_CHARS = 12_800;
const CACHE_LIMIT = 5_000;

/** Resource type of a canonical name, from its last collection (`cryptoKeys` → `cloudkms.googleapis.com/CryptoKey`). */
const TYPES: Readonly<Record<string, [service: string, type: string]>> = {
  keyRings: ['cloudkms.googleapis.com', 'cloudkms.googleapis.com/KeyRing'],
  cryptoKeys: ['cloudkms.googleapis.com', 'cloudkms.googleapis.com/CryptoKey'],
  secrets: ['secretmanager.googleapis.com', 'secretmanager.googleapis.com/Secret'],
  topics: ['pubsub.googleapis.com', 'pubsub.googleapis.com/Topic'],
  subscriptions: ['pubsub.googleapis.com', 'pubsub.googleapis.com/Subscription'],
  serviceAccounts: ['iam.googleapis.com', 'iam.googleapis.com/ServiceAccount'],
  repositories: ['artifactregistry.googleapis.com', 'artifactregistry.googleapis.com/Repository'],
  instances: ['compute.googleapis.com', 'compute.googleapis.com/Instance'],
  projects: ['cloudresourcemanager.googleapis.com', 'cloudresourcemanager.googleapis.com/Project'],
};

/**
 * A condition that does not compile, errors, or yields anything but `true` grants nothing (fail
 * closed). `resource.name` is the canonical name, with the project as its number.
 */
export function createIamConditionEvaluator(): ConditionEvaluator {
  const programs = new Map<string, CelProgram | null>();
  return (expression, facts) => {
    let program = programs.get(expression);
    if (program === undefined) {
      try {
        program = compileCel(expression, { maxLength: MAX_CONDITION_CHARS, label: 'condition' });
      } catch {
        program = null;
      }
      if (programs.size >= CACHE_LIMIT) programs.clear();
      programs.set(expression, program);
    }
    if (!program) return false;
    const segments = facts.resource.split('/');
    const collection = segments.length >= 2 ? (segments[segments.length - 2] as string) : '';
    const [service, type] = TYPES[collection] ?? ['', ''];
    const result = program.evaluate({
      request: new Map([['time', timestampFromMs(facts.nowMs) as never]]),
      resource: new Map([
        ['name', facts.resource],
        ['type', type],
        ['service', service],
      ]),
    });
    return result.ok && result.value === true;
  };
}
