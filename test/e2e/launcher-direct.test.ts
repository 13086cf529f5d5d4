// `sealroom launcher` run directly against a metadata server: no host agent and no compute service in between,
// only the deployment's IAM, registry and verifier on loopback, and this test as the host on the report channel
// (it certifies the soft platform's AK). The launcher reads its instance, pulls, attests and runs the workload.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { createHash, createPublicKey } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { type PlatformCa, createPlatformCa } from '@sealroom/attest';
import { createInstanceCredentials } from '@sealroom/compute/testing';
import { silentLogger } from '@sealroom/core';
import { type IamTestContext, createIamTestContext } from '@sealroom/iam/testing';
import { type LauncherReport, type MetadataServer, hostChannelOn, startMetadataServer } from '@sealroom/launcher';
import { RegistryClient, createRegistryService } from '@sealroom/registry';
import { type ServiceContext, buildRestApp } from '@sealroom/transport';
import { createVerifierModule, parseVerifierConfig } from '@sealroom/verifier';
import { SEALROOM_BIN, freePort } from '../support/server-process.ts';

// biome-ignore lint/suspicious/noExplicitAny: token claims, read field by field
type Json = any;

const SA = 'vm-runner@operator-project.iam.gserviceaccount.com';
const INSTANCE_ID = '7345678901234567890';
const SCRIPT = `#!/bin/sh
echo "PAYLOAD $(cut -d. -f2 "$SEALROOM_CONTAINER_LAUNCHER_DIR/attestation_verifier_claims_token")"
exit 0
`;
const sha256 = (bytes: Uint8Array) => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;

async function pushScriptImage(client: RegistryClient, name: string, dir: string): Promise<string> {
  const root = join(dir, 'image-root');
  mkdirSync(root, { recursive: true });
  writeFileSync(join(root, 'run.sh'), SCRIPT);
  chmodSync(join(root, 'run.sh'), 0o755);
  const layer = spawnSync('tar', ['-C', root, '-cf', '-', 'run.sh']).stdout;
  const config = Buffer.from(
    JSON.stringify({
      architecture: 'amd64',
      os: 'linux',
      config: {
        Entrypoint: ['/run.sh'],
        Env: ['PATH=/usr/bin:/bin'],
        Labels: { 'tee.launch_policy.log_redirect': 'always' },
      },
      rootfs: { type: 'layers', diff_ids: [sha256(layer)] },
    }),
  );
  await client.pushBlob(name, layer);
  await client.pushBlob(name, config);
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha256(config), size: config.length },
      layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: sha256(layer), size: layer.length }],
    }),
  );
  await client.pushManifest(name, 'v1', manifest, 'application/vnd.oci.image.manifest.v1+json');
  return sha256(manifest);
}

describe('sealroom launcher against a metadata server', () => {
  let t: IamTestContext;
  let app: Awaited<ReturnType<typeof buildRestApp>>;
  let dir: string;
  let url: string;
  let digest: string;
  let ca: PlatformCa;
  let metadata: MetadataServer;
  let child: ChildProcess | undefined;
  let projectNumber: string;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sr-launcher-direct-'));
    const port = await freePort();
    url = `http://127.0.0.1:${port}`;
    t = await createIamTestContext({ dev: true, baseUrl: url });
    const token = (await t.createUser('operator@example.com')).accessToken;
    const project = await t.createProject('operator-project', 'operator@example.com');
    projectNumber = project.projectNumber;
    await t.deps.serviceAccounts.create(project, 'vm-runner', 'runs the VM', '');
    for (const role of ['roles/confidentialcomputing.workloadUser', 'roles/artifactregistry.reader'])
      await t.grant('projects/operator-project', role, `serviceAccount:${SA}`);
    const context: ServiceContext = { ...t.context, settings: { ...t.context.settings, stateDir: dir } };
    ca = createPlatformCa(Date.now());
    const verifier = await createVerifierModule(context, {
      config: parseVerifierConfig({}),
      softPlatformCa: ca.certificate,
    });
    const registry = await createRegistryService(context);
    app = await buildRestApp({
      routes: [...t.iam.module.routes, ...verifier.routes, ...registry.routes],
      authenticator: t.context.authenticator,
      logger: t.logger,
    });
    await app.listen({ port, host: '127.0.0.1' });
    const created = await fetch(
      `${url}/v1/projects/operator-project/locations/europe-west4/repositories?repositoryId=repo`,
      {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ format: 'DOCKER' }),
      },
    );
    assert.ok(created.ok, await created.text());
    const client = new RegistryClient({ baseUrl: url, username: 'oauth2accesstoken', password: token });
    digest = await pushScriptImage(client, 'operator-project/repo/script', dir);
    // The instance's metadata server, its tokens minted by the deployment's IAM: what a host would run.
    const credentials = createInstanceCredentials(context);
    metadata = await startMetadataServer({
      facts: {
        id: INSTANCE_ID,
        name: 'direct-vm',
        zone: 'europe-west4-b',
        projectId: 'operator-project',
        projectNumber: project.projectNumber,
        universeDomain: 'googleapis.com',
        serviceAccount: { email: SA, scopes: ['https://www.googleapis.com/auth/cloud-platform'] },
        apiEndpoint: url,
      },
      attributes: {
        'tee-image-reference': `${new URL(url).host}/operator-project/repo/script:v1`,
        'tee-restart-policy': 'Never',
        'tee-container-log-redirect': 'serial',
      },
      credentials: {
        accessToken: async () => ({ accessToken: await credentials.accessToken(SA), expiresInSeconds: 1800 }),
        identityToken: async ({ audience }) => credentials.idToken(SA, audience, SA),
      },
      host: '127.0.0.1',
      logger: silentLogger,
    });
  });

  after(async () => {
    if (child && child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await new Promise((resolve) => child?.once('close', resolve));
    }
    await metadata?.close();
    await app?.close();
    await t?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('it reads its instance, pulls, attests on the soft platform, runs the workload and reports', async () => {
    const reports: LauncherReport[] = [];
    const calls: string[] = [];
    const launched = spawn(
      process.execPath,
      [
        SEALROOM_BIN,
        'launcher',
        `--metadata-host=${metadata.hostPort}`,
        `--dir=${join(dir, 'instance')}`,
        '--runtime=process',
        '--platform=soft',
        '--grace-ms=1000',
        '--report-fd=3',
      ],
      { stdio: ['ignore', 'pipe', 'pipe', 'pipe'], env: { PATH: process.env.PATH ?? '/usr/bin:/bin' } },
    );
    child = launched;
    let stderr = '';
    launched.stderr?.on('data', (chunk: Buffer) => {
      stderr += chunk.toString('utf8');
    });
    launched.stdout?.resume();
    hostChannelOn(launched.stdio[3] as Duplex, {
      onReport: (record) => reports.push(record),
      onCall: async (op, args) => {
        calls.push(op);
        if (op === 'certifyAk') {
          const key = createPublicKey({
            key: Buffer.from(String(args.akPublicKey), 'base64'),
            format: 'der',
            type: 'spki',
          });
          const instance = {
            zone: 'europe-west4-b',
            projectId: 'operator-project',
            projectNumber,
            instanceName: 'direct-vm',
            instanceId: INSTANCE_ID,
            securityVersion: '0',
            isProduction: true,
          };
          return ca.issueAkCertificate(key, instance, Date.now()).toString('base64');
        }
        if (op === 'environment') return { env: [`GCE_METADATA_HOST=${metadata.hostPort}`] };
        if (op === 'outboundPolicy') return { allowLoopback: true };
        if (op === 'prepareContainer') return args.config;
        throw new Error(`unexpected call ${op}`);
      },
    });
    const code = await new Promise<number | null>((resolve) => launched.once('close', (c) => resolve(c)));
    const serial = reports.flatMap((r) => (r.t === 'serial' ? [r.line] : []));
    assert.equal(code, 0, `${serial.join('\n')}\n${stderr}`);
    assert.deepEqual(reports[0], { t: 'hello', version: 1, pid: launched.pid });
    assert.deepEqual(
      reports.find((r) => r.t === 'booted'),
      { t: 'booted', bootCount: 1, runtime: 'process', platform: 'soft' },
    );
    assert.deepEqual(reports.at(-1), { t: 'exited', exitCode: 0, holding: false });
    assert.ok(calls.includes('certifyAk'));
    assert.ok(serial.includes('launcher: exit code 0'), serial.join('\n'));
    const payload = serial.map((l) => /^workload stdout: PAYLOAD (\S+)$/.exec(l)?.[1]).find(Boolean);
    assert.ok(payload, serial.join('\n'));
    const claims: Json = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
    assert.equal(claims.hwmodel, 'SOFTWARE');
    assert.equal(claims.aud, 'https://sts.googleapis.com');
    assert.deepEqual(claims.google_service_accounts, [SA]);
    assert.equal(claims.submods.gce.instance_id, INSTANCE_ID);
    assert.equal(claims.submods.gce.instance_name, 'direct-vm');
    assert.equal(claims.submods.container.image_digest, digest);
    assert.equal(claims.submods.container.restart_policy, 'Never');
  });
});
