// The launch configuration the operator passes as tee-env-WORDCOUNT_CONFIG: the collaborator set the token measures.
import { type WordcountConfig, parseWordcountConfig } from '../config.ts';
import { WordcountError } from '../errors.ts';
import { ingressTls } from '../platform-config.ts';

export interface LaunchConfigInput {
  readonly operator: { readonly project: string; readonly audience: string; readonly serviceAccount: string };
  readonly collaborators: readonly {
    readonly project: string;
    readonly audience: string;
    readonly kmsKey: string;
    readonly serverName: string;
  }[];
  /** The deployment every party uses here (each could run its own). */
  readonly api: string;
  readonly grpc: { readonly host: string; readonly port: number; readonly caPem: string };
  /** State in a secret of the first collaborator (instances), or a local file (in-process). */
  readonly state: { readonly secret: string } | { readonly file: string };
  readonly ingressPort?: number;
  readonly minCount: number;
}

export function buildLaunchConfig(input: LaunchConfigInput): WordcountConfig {
  const first = input.collaborators[0];
  if (!first) throw new WordcountError('ERR_WORDCOUNT_BAD_CONFIG', 'at least one collaborator');
  const withTls = input.ingressPort !== undefined;
  return parseWordcountConfig(
    JSON.stringify({
      subscription: `projects/${input.operator.project}/subscriptions/cs-subscribe`,
      pubsub: {
        grpc: `${input.grpc.host}:${input.grpc.port}`,
        caPem: input.grpc.caPem,
        audience: input.operator.audience,
        api: input.api,
        serviceAccount: input.operator.serviceAccount,
      },
      collaborators: input.collaborators.map((c) => ({
        name: c.project,
        audience: c.audience,
        kmsKey: c.kmsKey,
        api: input.api,
        resultSecret: `projects/${c.project}/secrets/wordcount-results`,
        ...(withTls ? { tls: ingressTls(c.project, c.serverName) } : {}),
      })),
      ...(withTls ? { ingressPort: input.ingressPort } : {}),
      minCount: input.minCount,
      state: {
        ...('secret' in input.state
          ? { secret: `projects/${first.project}/secrets/${input.state.secret}` }
          : { file: input.state.file }),
        collaborator: first.project,
        kmsKey: `projects/${first.project}/locations/global/keyRings/kr1/cryptoKeys/state`,
      },
      resultsIntervalMs: 500,
    }),
  );
}
