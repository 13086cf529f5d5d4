// The Confidential Space tutorial (docs/wordcount.md) as `sealroom` command lines: builder, operator, two collaborators, one workload.
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Logger } from '@sealroom/core';
import { resolveRepoRoot, silentLogger } from '@sealroom/core';
import type { WordcountConfig } from '../config.ts';
import { type RunningWorkload, runWorkload } from '../workload/run.ts';
import { type CliSession, openCliSession, serverFetch } from './cli-session.ts';
import {
  type DevAttestation,
  type DevInstanceClaims,
  IMAGE_OUTPUT_POLICY,
  startDevAttestation,
} from './dev-attestation.ts';
import {
  type InstanceVariant,
  type WorkloadHandle,
  devInstanceHandle,
  startComputeInstance,
} from './instance-handle.ts';
import { formatCollaboratorsValue } from '../platform-config.ts';
import { buildLaunchConfig } from './launch-config.ts';
import { type TlsMaterial, createTlsMaterial } from './tls-material.ts';

/** The accounts the seed's parties sign in as (dev login), by role. */
export const SCENARIO_ACCOUNTS = {
  builder: 'builder@builder.example',
  operator: 'admin@operator.example',
  'collaborator-1': 'alice@collaborator1.example',
  'collaborator-2': 'bob@collaborator2.example',
} as const;

export interface TutorialOptions {
  readonly baseUrl: string;
  /** The server's gRPC listener and deployment CA (Pub/Sub subscribers need StreamingPull). */
  readonly grpc: { readonly host: string; readonly port: number; readonly caPem: string };
  readonly print: (line: string) => void;
  readonly minCount?: number;
  readonly logger?: Logger;
  /**
   * `compute`: build and push the image, run it on an instance (launcher + verifier); `dev`: the in-process
   * stand-in. Defaults to compute when the server offers it.
   */
  readonly instances?: 'compute' | 'dev';
  /** Port of the workload's mTLS ingress (the seed's HTTP path); absent: no ingress. */
  readonly ingressPort?: number;
}

export interface Party {
  readonly project: string;
  readonly projectNumber: string;
  readonly email: string;
  readonly cli: CliSession;
}

export interface Tutorial {
  readonly builder: Party;
  readonly operator: Party;
  readonly collaborators: readonly [Party, Party];
  /** Each collaborator's TLS files (CA, client certificate and key) when the ingress is on. */
  readonly tls: readonly [TlsMaterial, TlsMaterial] | undefined;
  readonly serviceAccount: string;
  readonly imageReference: string;
  readonly imageDigest: string;
  readonly config: WordcountConfig;
  /**
   * What the operator passes on real instances: `tee-env-WORDCOUNT_COLLABORATORS`, the collaborator set only;
   * the workload takes the rest from the platform and its attached service account.
   */
  readonly collaboratorsValue: string;
  readonly attestation: DevAttestation;
  readonly instances: 'compute' | 'dev';
  /** Dev stand-in: starts the workload in-process under a token with these claims (varied by negative runs). */
  startWorkload(claims?: Partial<DevInstanceClaims>): Promise<RunningWorkload>;
  /** The operator starts the instance: on compute, `compute instances create`; else the dev stand-in. */
  startInstance(name?: string, variant?: InstanceVariant): Promise<WorkloadHandle>;
  kmsKeyOf(party: Party): string;
  audienceOf(party: Party): string;
  close(): Promise<void>;
}

const POOL = 'trusted-workload-pool';
const PROVIDER = 'attestation-verifier';

export type { InstanceVariant, WorkloadHandle };

export async function setUpTutorial(options: TutorialOptions): Promise<Tutorial> {
  const { print } = options;
  const suffix = randomBytes(3).toString('hex');
  const root = mkdtempSync(join(tmpdir(), 'sealroom-tutorial-'));
  const configDir = join(root, 'config');
  const attestation = await startDevAttestation();
  const step = (title: string) => print(`\n## ${title}`);

  const party = async (role: string, email: string, project: string): Promise<Party> => {
    const cli = openCliSession(options.baseUrl, print, configDir);
    await cli.sealroom(['config', 'configurations', 'create', role]);
    await cli.sealroom(['config', 'configurations', 'activate', role]);
    await cli.sealroom(['auth', 'login', email]);
    await cli.sealroom(['projects', 'create', project]);
    await cli.sealroom(['config', 'set', 'project', project]);
    const projectNumber = await cli.sealroom(['projects', 'describe', project, '--format=value(projectNumber)']);
    return { project, projectNumber, email, cli };
  };
  // One terminal: configurations switch as in the seed, so every party's command runs in its own configuration.
  const as = async (p: Party, role: string) =>
    p.cli.sealroom(['config', 'configurations', 'activate', role], { quiet: true });

  step('Configure the builder, the operator and the two collaborators (one configuration each)');
  const builder = await party('builder', SCENARIO_ACCOUNTS.builder, `builder-${suffix}`);
  const operator = await party('operator', SCENARIO_ACCOUNTS.operator, `operator-${suffix}`);
  const c1 = await party('collaborator-1', SCENARIO_ACCOUNTS['collaborator-1'], `collaborator-1-${suffix}`);
  const c2 = await party('collaborator-2', SCENARIO_ACCOUNTS['collaborator-2'], `collaborator-2-${suffix}`);
  const roles = new Map<Party, string>([
    [builder, 'builder'],
    [operator, 'operator'],
    [c1, 'collaborator-1'],
    [c2, 'collaborator-2'],
  ]);
  const activate = (p: Party) => as(p, roles.get(p) ?? '');

  step('Builder: build the workload image reproducibly and push it (collaborators authorise its digest)');
  await activate(builder);
  const host = new URL(options.baseUrl).host;
  const instances = options.instances ?? ((await hasService(options.baseUrl, 'compute')) ? 'compute' : 'dev');
  let imageDigest: string;
  if (instances === 'compute') {
    await builder.cli.sealroom([
      'artifacts',
      'repositories',
      'create',
      'repo1',
      '--repository-format=docker',
      '--location=us-central1',
    ]);
    const built = JSON.parse(
      await builder.cli.sealroom([
        'build',
        join(resolveRepoRoot(), 'examples', 'wordcount'),
        `--tag=${host}/${builder.project}/repo1/tee:server`,
        '--compression=none',
        '--format=json',
      ]),
    ) as { digest: string };
    imageDigest = built.digest;
  } else {
    // The dev stand-in runs the workload in-process; the digest only has to be one the collaborators bind.
    imageDigest = `sha256:${createHash('sha256').update(`sealroom-wordcount@${suffix}`).digest('hex')}`;
  }
  const imageReference = `${host}/${builder.project}/repo1/tee@${imageDigest}`;
  print(`image: ${imageReference}`);

  step('Operator: the service account the instance runs as, the topic and the subscription');
  await activate(operator);
  await operator.cli.sealroom(['iam', 'service-accounts', 'create', 'operator-svc-account']);
  const serviceAccount = `operator-svc-account@${operator.project}.iam.gserviceaccount.com`;
  if (instances === 'compute') {
    await operator.cli.sealroom([
      'projects',
      'add-iam-policy-binding',
      operator.project,
      `--member=serviceAccount:${serviceAccount}`,
      '--role=roles/confidentialcomputing.workloadUser',
    ]);
    step('Builder: let the operator’s service account pull the image');
    await activate(builder);
    await builder.cli.sealroom([
      'artifacts',
      'repositories',
      'add-iam-policy-binding',
      'repo1',
      '--location=us-central1',
      `--member=serviceAccount:${serviceAccount}`,
      '--role=roles/artifactregistry.reader',
    ]);
    await activate(operator);
  }
  await operator.cli.sealroom(['pubsub', 'topics', 'create', 'cs-topic']);
  await operator.cli.sealroom(['pubsub', 'topics', 'create', 'cs-topic-dead-letter']);
  await operator.cli.sealroom([
    'pubsub',
    'subscriptions',
    'create',
    'cs-subscribe',
    '--topic=cs-topic',
    '--ack-deadline=10',
    '--dead-letter-topic=cs-topic-dead-letter',
    '--max-delivery-attempts=5',
  ]);
  await operator.cli.sealroom(['pubsub', 'subscriptions', 'create', 'cs-dead-letters', '--topic=cs-topic-dead-letter']);
  await operator.cli.sealroom([
    'pubsub',
    'subscriptions',
    'add-iam-policy-binding',
    'cs-subscribe',
    `--member=serviceAccount:${serviceAccount}`,
    '--role=roles/pubsub.subscriber',
  ]);
  for (const c of [c1, c2]) {
    await operator.cli.sealroom([
      'pubsub',
      'topics',
      'add-iam-policy-binding',
      'cs-topic',
      `--member=user:${c.email}`,
      '--role=roles/pubsub.publisher',
    ]);
  }
  // The instance authenticates to Pub/Sub as operator-svc-account, through the operator's own pool.
  // Hardened instances' tokens come from the server's verifier, whose issuer is the server's base URL.
  const issuerUri = instances === 'compute' ? options.baseUrl.replace(/\/+$/, '') : attestation.issuerUri;
  await createPool(operator, options.baseUrl, issuerUri, operator, serviceAccount);
  await operator.cli.sealroom([
    'iam',
    'service-accounts',
    'add-iam-policy-binding',
    serviceAccount,
    `--member=principalSet://iam.googleapis.com/projects/${operator.projectNumber}/locations/global/workloadIdentityPools/${POOL}/*`,
    '--role=roles/iam.workloadIdentityUser',
  ]);

  const tlsMaterial: TlsMaterial[] = [];
  const serverNameOf = (index: number) => `tee.collaborator${index + 1}.com`;
  for (const [index, c] of [c1, c2].entries()) {
    step(
      `Collaborator-${index + 1}: pool, provider (the seed's condition, pinned to the image digest), key, result secret, bindings to the image`,
    );
    await activate(c);
    await createPool(c, options.baseUrl, issuerUri, operator, serviceAccount, imageDigest);
    await c.cli.sealroom(['kms', 'keyrings', 'create', 'kr1', '--location=global']);
    for (const key of ['key1', 'state']) {
      await c.cli.sealroom([
        'kms',
        'keys',
        'create',
        key,
        '--keyring=kr1',
        '--location=global',
        '--purpose=encryption',
      ]);
    }
    const image = `principalSet://iam.googleapis.com/projects/${c.projectNumber}/locations/global/workloadIdentityPools/${POOL}/attribute.image_reference/${imageReference}`;
    const bind = (key: string, member: string, role: string) =>
      c.cli.sealroom([
        'kms',
        'keys',
        'add-iam-policy-binding',
        key,
        '--keyring=kr1',
        '--location=global',
        `--member=${member}`,
        `--role=${role}`,
      ]);
    await bind('key1', `user:${c.email}`, 'roles/cloudkms.cryptoKeyEncrypterDecrypter');
    // Decrypt contributions, and encrypt this collaborator's results under its own key.
    await bind('key1', image, 'roles/cloudkms.cryptoKeyEncrypterDecrypter');
    if (index === 0) {
      await bind('state', image, 'roles/cloudkms.cryptoKeyEncrypterDecrypter');
      if (instances === 'compute') {
        // An instance's disk does not outlive a reboot: the sealed state is kept as versions of this secret.
        await c.cli.sealroom(['secrets', 'create', 'wordcount-state', '--replication-policy=automatic']);
        for (const role of ['roles/secretmanager.secretVersionAdder', 'roles/secretmanager.secretAccessor']) {
          await c.cli.sealroom([
            'secrets',
            'add-iam-policy-binding',
            'wordcount-state',
            `--member=${image}`,
            `--role=${role}`,
          ]);
        }
      }
    }
    // The workload logs each release in this collaborator's transparency log before the result reaches it.
    await c.cli.sealroom([
      'projects',
      'add-iam-policy-binding',
      c.project,
      `--member=${image}`,
      '--role=roles/transparency.releaseWriter',
    ]);
    await c.cli.sealroom(['secrets', 'create', 'wordcount-results', '--replication-policy=automatic']);
    await c.cli.sealroom([
      'secrets',
      'add-iam-policy-binding',
      'wordcount-results',
      `--member=${image}`,
      '--role=roles/secretmanager.secretVersionAdder',
    ]);
    await c.cli.sealroom([
      'secrets',
      'add-iam-policy-binding',
      'wordcount-results',
      `--member=user:${c.email}`,
      '--role=roles/secretmanager.secretAccessor',
    ]);
    if (options.ingressPort !== undefined) {
      const material = createTlsMaterial(root, `collaborator${index + 1}`, serverNameOf(index), print);
      tlsMaterial.push(material);
      // Released to the attested image at start; never baked into it.
      for (const [secret, file] of [
        ['tee-server-key', material.serverKeyFile],
        ['tee-server-cert', material.serverCertFile],
        ['tee-client-ca', material.caFile],
      ] as const) {
        await c.cli.sealroom(['secrets', 'create', secret, '--replication-policy=automatic', `--data-file=${file}`]);
        await c.cli.sealroom([
          'secrets',
          'add-iam-policy-binding',
          secret,
          `--member=${image}`,
          '--role=roles/secretmanager.secretAccessor',
        ]);
      }
    }
  }

  const kmsKeyOf = (p: Party) => `projects/${p.project}/locations/global/keyRings/kr1/cryptoKeys/key1`;
  const audienceOf = (p: Party) =>
    `//iam.googleapis.com/projects/${p.projectNumber}/locations/global/workloadIdentityPools/${POOL}/providers/${PROVIDER}`;
  const stateFile = join(root, 'wordcount-state.json');
  // The launch configuration the operator passes as tee-env-WORDCOUNT_CONFIG; it is measured into the token.
  const config = buildLaunchConfig({
    operator: { project: operator.project, audience: audienceOf(operator), serviceAccount },
    collaborators: [c1, c2].map((c, index) => ({
      project: c.project,
      audience: audienceOf(c),
      kmsKey: kmsKeyOf(c),
      serverName: serverNameOf(index),
    })),
    api: options.baseUrl,
    grpc: options.grpc,
    state: instances === 'compute' ? { secret: 'wordcount-state' } : { file: stateFile },
    ...(options.ingressPort === undefined ? {} : { ingressPort: options.ingressPort }),
    minCount: options.minCount ?? 1,
  });

  const collaboratorsValue = formatCollaboratorsValue({
    collaborators: [c1, c2].map((c, index) => ({
      project: c.project,
      projectNumber: c.projectNumber,
      pool: POOL,
      provider: PROVIDER,
      keyRing: 'kr1',
      key: 'key1',
      ...(options.ingressPort === undefined ? {} : { serverName: serverNameOf(index) }),
    })),
    ...(options.ingressPort === undefined ? {} : { ingressPort: options.ingressPort }),
  });

  const startWorkload = async (claims: Partial<DevInstanceClaims> = {}): Promise<RunningWorkload> => {
    const instance = attestation.bootInstance({
      operatorProject: operator.project,
      operatorProjectNumber: operator.projectNumber,
      serviceAccount,
      imageReference,
      imageDigest,
      ...claims,
    });
    await instance.refresh();
    return runWorkload({ config, logger: options.logger ?? silentLogger, tokenFile: instance.tokenFile });
  };

  return {
    builder,
    operator,
    collaborators: [c1, c2],
    tls: tlsMaterial.length === 2 ? [tlsMaterial[0] as TlsMaterial, tlsMaterial[1] as TlsMaterial] : undefined,
    serviceAccount,
    imageReference,
    imageDigest,
    config,
    collaboratorsValue,
    attestation,
    instances,
    kmsKeyOf,
    audienceOf,
    startWorkload,
    async startInstance(name = 'vm1', variant: InstanceVariant = {}) {
      await activate(operator);
      if (instances === 'dev') {
        return devInstanceHandle(
          await startWorkload({
            ...(variant.debug ? { debug: true } : {}),
            ...(variant.serviceAccount ? { serviceAccount: variant.serviceAccount } : {}),
          }),
        );
      }
      return startComputeInstance({
        name,
        variant,
        operatorCli: operator.cli,
        activateOperator: () => activate(operator),
        serviceAccount,
        imageReference,
        collaboratorsValue,
      });
    },
    async close() {
      await attestation.close();
      rmSync(root, { recursive: true, force: true });
    },
  };
}

/**
 * The seed's provider: Confidential Space, STABLE, the operator's project and service account; a
 * collaborator also pins the image digest it rebuilt from source, so its token service admits no other image.
 */
async function createPool(
  p: Party,
  _baseUrl: string,
  issuerUri: string,
  operator: Party,
  serviceAccount: string,
  imageDigest?: string,
) {
  // A collaborator pins the digest it rebuilt, and the output policy it agreed to (the image's label, as
  // the verifier read it from the measured image config).
  const pinned = imageDigest
    ? ` && assertion.submods.container.image_digest=='${imageDigest}' && assertion.submods.sealroom.output_policy.min_collaborators >= ${IMAGE_OUTPUT_POLICY.min_collaborators}`
    : '';
  await p.cli.sealroom(['iam', 'workload-identity-pools', 'create', POOL, '--location=global']);
  await p.cli.sealroom([
    'iam',
    'workload-identity-pools',
    'providers',
    'create-oidc',
    PROVIDER,
    '--location=global',
    `--workload-identity-pool=${POOL}`,
    `--issuer-uri=${issuerUri}/`,
    '--allowed-audiences=https://sts.googleapis.com',
    '--attribute-mapping=google.subject=assertion.sub,attribute.image_reference=assertion.submods.container.image_reference',
    `--attribute-condition=assertion.swname=='CONFIDENTIAL_SPACE' && "STABLE" in assertion.submods.confidential_space.support_attributes && assertion.submods.gce.project_id=='${operator.project}' && '${serviceAccount}' in assertion.google_service_accounts${pinned}`,
  ]);
}

async function hasService(baseUrl: string, service: string): Promise<boolean> {
  const ready = (await (await serverFetch(baseUrl)(`${baseUrl}/readyz`)).json()) as { services?: string[] };
  return (ready.services ?? []).includes(service);
}
