// One collaborator as the workload reaches it: a federated identity at its STS, its KMS key, its result secret.
import { KeyManagementServiceClient } from '@google-cloud/kms';
import { createOutboundClient } from '@sealroom/outbound';
import {
  type KeyWrapper,
  buildExternalAccountCredentials,
  createExternalAccountClient,
  createKmsKeyWrapper,
  httpFailure,
  impersonationUrlFor,
  kmsClientOptions,
  tokenUrlFor,
} from '@sealroom/workload';
import type { AuthClient } from 'google-auth-library';
import type { CollaboratorConfig } from '../config.ts';

export interface CollaboratorAccess {
  readonly name: string;
  readonly authClient: AuthClient;
  readonly wrapper: KeyWrapper;
  /** Another key of the same collaborator, through the same identity. */
  wrapperFor(keyName: string): KeyWrapper;
  /** Adds a secret version in the collaborator's Secret Manager (REST), as the workload's federated identity. */
  addSecretVersion(secret: string, payload: Buffer): Promise<void>;
  /** The latest version of one of the collaborator's secrets. */
  accessSecret(secret: string): Promise<Buffer>;
  /** Logs a release in the collaborator's transparency log (under its result secret's project). */
  appendRelease(facts: Record<string, string | number | boolean>): Promise<{ index: number; checkpoint: string }>;
  close(): Promise<void>;
}

export function openCollaboratorAccess(config: CollaboratorConfig, tokenFile?: string): CollaboratorAccess {
  const credentials = buildExternalAccountCredentials({
    audience: config.audience,
    tokenUrl: tokenUrlFor(config.api),
    ...(config.serviceAccount ? { impersonationUrl: impersonationUrlFor(config.api, config.serviceAccount) } : {}),
    ...(tokenFile ? { tokenFile } : {}),
  });
  const authClient = createExternalAccountClient(credentials);
  const kms = new KeyManagementServiceClient(
    kmsClientOptions({ endpoint: { restUrl: config.api }, authClient }) as never,
  );
  const base = config.api.replace(/\/+$/, '');
  // The collaborator's API comes from the measured launch configuration: trusted, and nothing else is.
  const outbound = createOutboundClient({ policy: { trustedOrigins: [base] } });
  const call = async (method: string, path: string, body?: unknown) => {
    const { token } = await authClient.getAccessToken();
    const response = await outbound.fetch(`${base}/v1/${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await response.text();
    if (!response.ok) {
      // The status travels with the error, so the workload can tell an outage (5xx) from a refusal.
      throw httpFailure(response.status, `${method} ${path} answered ${response.status}: ${text.slice(0, 300)}`);
    }
    return JSON.parse(text) as Record<string, unknown>;
  };
  const wrapperFor = (keyName: string) => createKmsKeyWrapper(kms as never, keyName);
  return {
    name: config.name,
    authClient,
    wrapper: wrapperFor(config.kmsKey),
    wrapperFor,
    async addSecretVersion(secret, payload) {
      await call('POST', `${secret}:addVersion`, { payload: { data: payload.toString('base64') } });
    },
    async accessSecret(secret) {
      const answer = await call('GET', `${secret}/versions/latest:access`);
      return Buffer.from(String((answer.payload as { data?: string } | undefined)?.data ?? ''), 'base64');
    },
    async appendRelease(facts) {
      const project = config.resultSecret.split('/')[1] ?? '';
      const answer = await call('POST', `projects/${project}/transparency/entries`, {
        kind: 'workload.release',
        facts,
      });
      return { index: Number(answer.index), checkpoint: String(answer.checkpoint) };
    },
    close: () => kms.close(),
  };
}
