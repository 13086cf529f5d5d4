// Evaluates IAM condition expressions (policy version 3) with CEL: `request.time` and `resource.name|type|service`.
import { type CelProgram, compileIamCondition, evaluateIamCondition, IAM_CONDITION_LIMITS } from '@sealroom/cel';
import type { Logger } from '@sealroom/core';
import type { ConditionEvaluator } from '@sealroom/iam';

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

export interface IamConditionEvaluatorOptions {
  /** Told (with the resource name, never the expression's inputs) when a condition hits the cost limit. */
  readonly logger?: Logger;
}

/**
 * A condition that does not compile, errors, hits the runtime cost limit (or the worker pool's
 * deadline, or finds the pool full), or yields anything but `true` grants nothing (fail closed). `resource.name` is the canonical name, with the project as
 * its number. Conditions were checked against the cost estimate when their policy was set; one
 * stored before that is compiled without it and bounded by the runtime limit alone.
 */
export function createIamConditionEvaluator(options: IamConditionEvaluatorOptions = {}): ConditionEvaluator {
  const programs = new Map<string, CelProgram | null>();
  return async (expression, facts) => {
    let program = programs.get(expression);
    if (program === undefined) {
      try {
        program = compileIamCondition(expression, { estimatedCostLimit: Number.POSITIVE_INFINITY });
      } catch {
        program = null;
      }
      if (programs.size >= CACHE_LIMIT) programs.clear();
      programs.set(expression, program);
    }
    if (!program || facts.resource.length > IAM_CONDITION_LIMITS.resourceNameMaxChars) return false;
    const segments = facts.resource.split('/');
    const collection = segments.length >= 2 ? (segments[segments.length - 2] as string) : '';
    const [service, type] = TYPES[collection] ?? ['', ''];
    // A costly condition runs on a worker thread: the event loop keeps serving while it does.
    let result: Awaited<ReturnType<typeof evaluateIamCondition>>;
    try {
      result = await evaluateIamCondition(program, expression, {
        nowMs: facts.nowMs,
        name: facts.resource,
        type,
        service,
      });
    } catch (error) {
      options.logger?.warn(
        { error, resource: facts.resource },
        'an IAM condition could not be evaluated; its binding grants nothing',
      );
      return false;
    }
    if (!result.ok && result.code === 'ERR_CEL_COST_LIMIT') {
      options.logger?.warn(
        { code: 'ERR_CEL_COST_LIMIT', resource: facts.resource },
        'an IAM condition was aborted at the CEL cost limit; its binding grants nothing',
      );
    }
    return result.ok && result.value === true;
  };
}
