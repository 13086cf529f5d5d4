// Read-modify-write of IAM policies for every `… add-iam-policy-binding` command, retried on stale etags.
import { ApiError, type ApiClient } from './api-client.ts';
import { UsageError } from './command.ts';

interface PolicyJson {
  version?: number;
  etag?: string;
  bindings?: { role: string; members: string[]; condition?: unknown }[];
}

const MAX_ATTEMPTS = 5;

/** `resourcePath` is the URL path of the resource, e.g. `/v1/projects/p/locations/global/keyRings/kr`. */
export async function getIamPolicy(api: ApiClient, resourcePath: string): Promise<PolicyJson> {
  return api.request<PolicyJson>('POST', `${resourcePath}:getIamPolicy`, {
    body: { options: { requestedPolicyVersion: 3 } },
  });
}

export async function changeIamPolicyBinding(
  api: ApiClient,
  resourcePath: string,
  change: { member: string; role: string; remove?: boolean },
): Promise<PolicyJson> {
  if (!change.role.startsWith('roles/'))
    throw new UsageError(`Invalid role [${change.role}]: roles start with roles/.`);
  for (let attempt = 1; ; attempt++) {
    const policy = await getIamPolicy(api, resourcePath);
    const bindings = (policy.bindings ?? []).map((b) => ({ ...b, members: [...b.members] }));
    const binding = bindings.find((b) => b.role === change.role && !b.condition);
    if (change.remove) {
      if (!binding?.members.includes(change.member)) {
        throw new UsageError(
          `Policy binding with the specified principal and role not found: ${change.member}, ${change.role}`,
        );
      }
      binding.members = binding.members.filter((m) => m !== change.member);
    } else if (binding) {
      if (!binding.members.includes(change.member)) binding.members.push(change.member);
    } else {
      bindings.push({ role: change.role, members: [change.member] });
    }
    try {
      return await api.request<PolicyJson>('POST', `${resourcePath}:setIamPolicy`, {
        body: {
          policy: {
            version: policy.version ?? 1,
            etag: policy.etag,
            bindings: bindings.filter((b) => b.members.length > 0),
          },
        },
      });
    } catch (error) {
      if (error instanceof ApiError && error.httpStatus === 409 && attempt < MAX_ATTEMPTS) {
        await new Promise((resolve) => setTimeout(resolve, 50 * 2 ** attempt));
        continue;
      }
      throw error;
    }
  }
}

/** Flags shared by every policy-binding command. */
export const BINDING_FLAGS = {
  member: {
    type: 'string',
    required: true,
    description: 'The principal: user:EMAIL, serviceAccount:EMAIL, principal://…, principalSet://…',
  },
  role: { type: 'string', required: true, description: 'The role, e.g. roles/cloudkms.cryptoKeyDecrypter.' },
  condition: {
    type: 'string',
    description: 'Conditional bindings are not supported by this command; use set-iam-policy.',
  },
} as const;
