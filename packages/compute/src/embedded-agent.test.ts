// The embedded host agent in process, on the plain-process runtime (no runc needed): one boot against the real
// registry, IAM and verifier routes over loopback; the token carries the instance identity; a reboot gets a new one.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createPlatformCa } from '@sealroom/attest';
import { SWTPM_AVAILABLE, type Swtpm, startSwtpm } from '@sealroom/attest/testing';
import { type IamTestContext, createIamTestContext } from '@sealroom/iam/testing';
import { RegistryClient, createRegistryService } from '@sealroom/registry';
import { type ServiceContext, buildRestApp } from '@sealroom/transport';
import { createVerifierModule, parseVerifierConfig } from '@sealroom/verifier';
import { createComputeModule } from './module.ts';

// biome-ignore lint/suspicious/noExplicitAny: token claims and GCE JSON, read field by field
type Json = any;
type App = Awaited<ReturnType<typeof buildRestApp>>;

const ZONE = 'europe-west4-b';
const BASE = `/compute/v1/projects/operator-project/zones/${ZONE}/instances`;
const SA = 'vm-runner@operator-project.iam.gserviceaccount.com';
/** The workload: a shell script run by the host's /bin/sh; prints the token's payload and exits with $CODE. */
const SCRIPT = `#!/bin/sh
echo "PAYLOAD $(cut -d. -f2 "$SEALROOM_CONTAINER_LAUNCHER_DIR/attestation_verifier_claims_token")"
exit "\${CODE:-0}"
`;

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const address = probe.address();
      probe.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

const sha256 = (bytes: Uint8Array) => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;

/** A one-layer OCI image with /run.sh as its entrypoint, pushed to `name:v1`; returns the manifest digest. */
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
        Labels: { 'tee.launch_policy.log_redirect': 'always', 'tee.launch_policy.allow_env_override': 'CODE' },
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

for (const platform of ['soft', 'tpm'] as const) {
  describe(`the embedded host agent on the ${platform} platform`, {
    skip: platform === 'tpm' && !SWTPM_AVAILABLE ? 'swtpm is not installed' : false,
  }, () => {
    let t: IamTestContext;
    let swtpm: Swtpm | undefined;
    let app: App;
    let dir: string;
    let url: string;
    let token: string;
    let digest: string;
    let compute: Awaited<ReturnType<typeof createComputeModule>>;

    const call = async (method: string, path: string, body?: unknown): Promise<Json> => {
      const res = await fetch(`${url}${path}`, {
        method,
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      return res.json();
    };
    const payloads = async (name: string): Promise<Json[]> => {
      const out = await call('GET', `${BASE}/${name}/serialPort`);
      return [...String(out.contents).matchAll(/workload stdout: PAYLOAD (\S+)/g)].map((m) =>
        JSON.parse(Buffer.from(m[1] as string, 'base64url').toString('utf8')),
      );
    };
    const waitForStatus = async (name: string, done: (vm: Json) => boolean): Promise<Json> => {
      for (let i = 0; i < 600; i++) {
        const vm = await call('GET', `${BASE}/${name}`);
        if (done(vm)) return vm;
        await new Promise((r) => setTimeout(r, 50));
      }
      throw new Error(`${name} never got there: ${JSON.stringify(await call('GET', `${BASE}/${name}/serialPort`))}`);
    };

    before(async () => {
      dir = mkdtempSync(join(tmpdir(), 'sr-compute-agent-'));
      const port = await freePort();
      url = `http://127.0.0.1:${port}`;
      t = await createIamTestContext({ dev: true, baseUrl: url });
      token = (await t.createUser('operator@example.com')).accessToken;
      const project = await t.createProject('operator-project', 'operator@example.com');
      await t.deps.serviceAccounts.create(project, 'vm-runner', 'runs the VM', '');
      for (const role of ['roles/confidentialcomputing.workloadUser', 'roles/artifactregistry.reader'])
        await t.grant('projects/operator-project', role, `serviceAccount:${SA}`);
      const context: ServiceContext = { ...t.context, settings: { ...t.context.settings, stateDir: dir } };
      const ca = createPlatformCa(Date.now());
      const verifier = await createVerifierModule(context, {
        config: parseVerifierConfig({}),
        softPlatformCa: ca.certificate,
      });
      const registry = await createRegistryService(context);
      // The tpm platform on swtpm, power-cycled through its control channel before each boot.
      swtpm = platform === 'tpm' ? await startSwtpm() : undefined;
      compute = await createComputeModule(context, {
        platformCa: ca,
        runtimes: ['process'],
        graceMs: 1000,
        platform,
        ...(swtpm === undefined ? {} : { tpm: { address: swtpm.address, ctrl: swtpm.ctrl } }),
      });
      app = await buildRestApp({
        routes: [...t.iam.module.routes, ...verifier.routes, ...registry.routes, ...compute.routes],
        authenticator: t.context.authenticator,
        logger: t.logger,
      });
      await app.listen({ port, host: '127.0.0.1' });
      await call('POST', '/v1/projects/operator-project/locations/europe-west4/repositories?repositoryId=repo', {
        format: 'DOCKER',
      });
      const client = new RegistryClient({ baseUrl: url, username: 'oauth2accesstoken', password: token });
      digest = await pushScriptImage(client, 'operator-project/repo/script', dir);
    });
    after(async () => {
      await compute.stop?.();
      await swtpm?.stop();
      await app.close();
      await t.close();
      rmSync(dir, { recursive: true, force: true });
    });

    const create = (name: string, metadata: Record<string, string>) =>
      call('POST', BASE, {
        name,
        serviceAccounts: [{ email: SA }],
        disks: [
          { boot: true, initializeParams: { sourceImage: 'projects/cs/global/images/family/confidential-space' } },
        ],
        metadata: {
          items: Object.entries({
            'tee-image-reference': `${new URL(url).host}/operator-project/repo/script:v1`,
            'tee-container-log-redirect': 'serial',
            ...metadata,
          }).map(([key, value]) => ({ key, value })),
        },
      });

    test('a boot pulls with the instance account, attests, and the token names the instance and its account', async () => {
      const op = await create('agent-vm', { 'tee-restart-policy': 'Never' });
      assert.equal(op.status, 'DONE', JSON.stringify(op));
      const vm = await waitForStatus('agent-vm', (i) => i.status === 'TERMINATED');
      assert.equal(vm.confidentialSpace.lastExitCode, 0);
      assert.equal(vm.confidentialSpace.containerRuntime, 'process');
      assert.equal(vm.confidentialSpace.platform, platform);
      const serial = await call('GET', `${BASE}/agent-vm/serialPort`);
      assert.match(
        serial.contents,
        platform === 'tpm' ? /boot 1 on the tpm platform \(tcp:/ : /boot 1 on the soft platform/,
      );
      const [claims] = await payloads('agent-vm');
      assert.ok(claims);
      assert.equal(claims.submods.container.image_digest, digest);
      assert.equal(claims.submods.container.image_reference, `${new URL(url).host}/operator-project/repo/script:v1`);
      assert.deepEqual(claims.submods.gce, {
        zone: ZONE,
        project_id: 'operator-project',
        project_number: (await t.context.projects.resolve('operator-project'))?.projectNumber,
        instance_name: 'agent-vm',
        instance_id: vm.id,
      });
      assert.deepEqual(claims.google_service_accounts, [SA]);
      assert.equal(
        claims.sub,
        `https://www.googleapis.com/compute/v1/projects/operator-project/zones/${ZONE}/instances/agent-vm`,
      );
    });

    test('OnFailure reboots: each boot is a new platform with a new token, and the boot count goes up', async () => {
      await create('agent-retry', { 'tee-restart-policy': 'OnFailure', 'tee-env-CODE': '1' });
      for (let i = 0; i < 600 && (await payloads('agent-retry')).length < 2; i++)
        await new Promise((r) => setTimeout(r, 50));
      await call('POST', `${BASE}/agent-retry/stop`);
      const vm = await call('GET', `${BASE}/agent-retry`);
      assert.equal(vm.status, 'TERMINATED');
      assert.ok(vm.confidentialSpace.bootCount >= 2);
      const [first, second] = await payloads('agent-retry');
      assert.ok(first && second);
      assert.equal(first.submods.gce.instance_id, second.submods.gce.instance_id);
      assert.ok(second.iat >= first.iat);
    });

    test('an env override the image policy does not allow stops the launch with exit 1, the reason on the serial console', async () => {
      await create('agent-refused', { 'tee-restart-policy': 'Never', 'tee-env-OTHER': 'x' });
      const vm = await waitForStatus('agent-refused', (i) => i.status === 'TERMINATED');
      assert.equal(vm.confidentialSpace.lastExitCode, 1);
      const out = await call('GET', `${BASE}/agent-refused/serialPort`);
      assert.match(out.contents, /OTHER/);
      assert.doesNotMatch(out.contents, /workload stdout/);
    });
  });
}
