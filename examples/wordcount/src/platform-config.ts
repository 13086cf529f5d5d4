// The launch configuration on Google's defaults: the operator names only the collaborator set; the endpoints come
// from the platform and Pub/Sub is reached as the instance's attached service account.
import { type WordcountConfig, parseWordcountConfig } from './config.ts';
import { WordcountError } from './errors.ts';

/** One collaborator as the short form names it. */
export interface CollaboratorRef {
  readonly project: string;
  readonly projectNumber: string;
  readonly pool: string;
  readonly provider: string;
  readonly keyRing: string;
  readonly key: string;
  /** The SNI name of its mTLS ingress certificate, when the workload serves the ingress. */
  readonly serverName?: string;
}

/** What `WORDCOUNT_COLLABORATORS` carries. */
export interface CollaboratorsValue {
  readonly collaborators: readonly CollaboratorRef[];
  /** `;ingress=PORT`: serve the mTLS ingress there (every collaborator then names its server name). */
  readonly ingressPort?: number;
}

const SEGMENT = /^[a-z0-9][a-z0-9-]{0,62}$/;

const HOSTNAME = /^(?=.{1,253}$)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/;

function invalid(what: string): never {
  throw new WordcountError('ERR_WORDCOUNT_BAD_CONFIG', what);
}

/**
 * `PROJECT/NUMBER/POOL/PROVIDER/KEYRING/KEY[/SERVER_NAME]`, comma-separated, then optionally `;ingress=PORT`
 * (the value of `tee-env-WORDCOUNT_COLLABORATORS`).
 */
export function parseCollaboratorsValue(text: string): CollaboratorsValue {
  const [list = '', ...options] = text.split(';');
  let ingressPort: number | undefined;
  for (const option of options) {
    const match = /^ingress=(\d{1,5})$/.exec(option.trim());
    if (!match || Number(match[1]) > 65535) invalid(`unknown option "${option.slice(0, 100)}" (only ingress=PORT)`);
    ingressPort = Number(match[1]);
  }
  const collaborators = list
    .split(',')
    .map((entry) => entry.trim())
    .filter(Boolean)
    .map((entry): CollaboratorRef => {
      const parts = entry.split('/');
      const [project = '', projectNumber = '', pool = '', provider = '', keyRing = '', key = '', serverName] = parts;
      if (
        (parts.length !== 6 && parts.length !== 7) ||
        !/^\d{1,20}$/.test(projectNumber) ||
        ![project, pool, provider, keyRing, key].every((p) => SEGMENT.test(p)) ||
        (serverName !== undefined && !HOSTNAME.test(serverName))
      )
        invalid(
          `a collaborator is PROJECT/NUMBER/POOL/PROVIDER/KEYRING/KEY[/SERVER_NAME], not "${entry.slice(0, 200)}"`,
        );
      return { project, projectNumber, pool, provider, keyRing, key, ...(serverName ? { serverName } : {}) };
    });
  if (collaborators.length === 0) invalid('at least one collaborator');
  if (ingressPort !== undefined && collaborators.some((c) => c.serverName === undefined))
    invalid('with ingress=PORT every collaborator names its server name');
  return { collaborators, ...(ingressPort === undefined ? {} : { ingressPort }) };
}

export interface PlatformConfigInput extends CollaboratorsValue {
  /** The instance's project (the metadata server's `project/project-id`): its `cs-subscribe` subscription. */
  readonly operatorProject: string;
  /** The deployment's REST URL (endpoints.json `rest`): every collaborator's STS, KMS and Secret Manager here. */
  readonly api: string;
  readonly universeDomain: string;
}

/**
 * The full configuration the short form stands for, with the tutorial's names: each collaborator's result
 * secret `wordcount-results`, the sealed state in the first collaborator's secret `wordcount-state` under its key
 * `state` (same key ring), the ingress secrets `tee-server-key`, `tee-server-cert` and `tee-client-ca`, the seed's
 * subscription `cs-subscribe`, and no `pubsub` section (ADC).
 */
/** A collaborator's ingress TLS: its key, certificate and client CA as its own secrets, with the seed's names. */
export function ingressTls(project: string, serverName: string | undefined) {
  return {
    serverName,
    serverKeySecret: `projects/${project}/secrets/tee-server-key`,
    serverCertSecret: `projects/${project}/secrets/tee-server-cert`,
    clientCaSecret: `projects/${project}/secrets/tee-client-ca`,
  };
}

export function buildPlatformConfig(input: PlatformConfigInput): WordcountConfig {
  const [first] = input.collaborators;
  if (!first) throw new WordcountError('ERR_WORDCOUNT_BAD_CONFIG', 'at least one collaborator');
  return parseWordcountConfig(
    JSON.stringify({
      subscription: `projects/${input.operatorProject}/subscriptions/cs-subscribe`,
      collaborators: input.collaborators.map((c) => ({
        name: c.project,
        audience: `//iam.${input.universeDomain}/projects/${c.projectNumber}/locations/global/workloadIdentityPools/${c.pool}/providers/${c.provider}`,
        kmsKey: `projects/${c.project}/locations/global/keyRings/${c.keyRing}/cryptoKeys/${c.key}`,
        api: input.api,
        resultSecret: `projects/${c.project}/secrets/wordcount-results`,
        // The ingress's key, certificate and client CA are the collaborator's secrets, released at run time.
        ...(input.ingressPort !== undefined && c.serverName ? { tls: ingressTls(c.project, c.serverName) } : {}),
      })),
      ...(input.ingressPort === undefined ? {} : { ingressPort: input.ingressPort }),
      state: {
        secret: `projects/${first.project}/secrets/wordcount-state`,
        collaborator: first.project,
        kmsKey: `projects/${first.project}/locations/global/keyRings/${first.keyRing}/cryptoKeys/state`,
      },
      resultsIntervalMs: 1000,
    }),
  );
}

/** The short form's value (what the operator's `--metadata` carries). */
export function formatCollaboratorsValue(value: CollaboratorsValue): string {
  const list = value.collaborators
    .map((r) =>
      [r.project, r.projectNumber, r.pool, r.provider, r.keyRing, r.key, ...(r.serverName ? [r.serverName] : [])].join(
        '/',
      ),
    )
    .join(',');
  return value.ingressPort === undefined ? list : `${list};ingress=${value.ingressPort}`;
}
