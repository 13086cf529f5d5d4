// Regenerates the console's screenshots (docs/console/*.png) and their list in docs/console.md: the seed
// scenario on a fresh dev server, the builder's signature and attestations, then each view in Chromium.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { runCli } from '@sealroom/cli';
import { resolveRepoRoot, silentLogger } from '@sealroom/core';
import { resolveServerConfig, startServer } from '@sealroom/server';
import type { Locator, Page } from 'playwright-core';
import { launchChromium } from './lib/chromium.ts';

const root = resolveRepoRoot();
const shotsDir = join(root, 'docs', 'console');
const work = mkdtempSync(join(tmpdir(), 'sealroom-console-doc-'));
const server = await startServer(
  resolveServerConfig({ dev: true, port: 0, grpcPort: 0, stateDir: join(work, 'state'), logLevel: 'silent' }, {}),
  { logger: silentLogger },
);
const env = { ...process.env, XDG_CONFIG_HOME: join(work, 'config'), SEALROOM_API: server.url };
const sealroom = async (...args: string[]): Promise<string> => {
  let out = '';
  let err = '';
  const code = await runCli(args, { env, stdout: (t) => (out += t), stderr: (t) => (err += t) });
  if (code !== 0) throw new Error(`sealroom ${args.join(' ')}: ${err.trim()}`);
  return out.trim();
};

try {
  const scenario = (await import(pathToFileURL(join(root, 'examples', 'wordcount', 'scenario.ts')).href)) as {
    runScenario(url: string, options: { print: (line: string) => void; stateDir: string }): Promise<unknown>;
    SCENARIO_ACCOUNTS: Record<'builder' | 'operator' | 'collaborator-1' | 'collaborator-2', string>;
  };
  process.stdout.write('running the seed scenario…\n');
  if (!(await scenario.runScenario(server.url, { print: () => {}, stateDir: join(work, 'state') })))
    throw new Error('the scenario failed');
  const accounts = scenario.SCENARIO_ACCOUNTS;

  // The builder signs its image with a KMS key and attaches the build's provenance and SBOM.
  await sealroom('auth', 'login', accounts.builder);
  const builderProject = await sealroom('projects', 'list', '--format=value(projectId)');
  await sealroom('config', 'set', 'project', builderProject);
  const image = JSON.parse(
    await sealroom(
      'artifacts',
      'docker',
      'images',
      'list',
      `${new URL(server.url).host}/${builderProject}/repo1`,
      '--format=json',
    ),
  )[0].uri as string;
  await sealroom('kms', 'keyrings', 'create', 'signing', '--location=global');
  await sealroom(
    'kms',
    'keys',
    'create',
    'image-signer',
    '--keyring=signing',
    '--location=global',
    '--purpose=asymmetric-signing',
    '--default-algorithm=ec-sign-p256-sha256',
  );
  await sealroom(
    'kms',
    'keys',
    'add-iam-policy-binding',
    'image-signer',
    '--keyring=signing',
    '--location=global',
    `--member=user:${accounts.builder}`,
    '--role=roles/cloudkms.signerVerifier',
  );
  const key = `kms://projects/${builderProject}/locations/global/keyRings/signing/cryptoKeys/image-signer/cryptoKeyVersions/1`;
  await sealroom('sign', image, '--key', key);
  const predicates = join(work, 'predicates');
  await sealroom('build', join(root, 'examples', 'wordcount'), '--no-push', '--predicates-dir', predicates);
  await sealroom(
    'attest',
    image,
    '--key',
    key,
    '--predicate',
    join(predicates, 'provenance.json'),
    '--type',
    'slsaprovenance1',
  );
  await sealroom(
    'attest',
    image,
    '--key',
    key,
    '--predicate',
    join(predicates, 'sbom.cdx.json'),
    '--type',
    'cyclonedx',
  );
  // So that the operator's view can show the image's launch policy next to its metadata.
  await sealroom(
    'artifacts',
    'repositories',
    'add-iam-policy-binding',
    'repo1',
    '--location=us-central1',
    `--member=user:${accounts.operator}`,
    '--role=roles/artifactregistry.reader',
  );

  const browser = await launchChromium();
  mkdirSync(shotsDir, { recursive: true });
  const shots: { file: string; caption: string }[] = [];
  const shoot = async (target: Page | Locator, file: string, caption: string) => {
    // The serial console names files in this run's temporary state directory: show it as <state-dir>.
    const page = 'page' in target ? target.page() : target;
    await page.evaluate(`(() => {
      const dir = ${JSON.stringify(join(work, 'state'))};
      const walk = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
      for (let n = walk.nextNode(); n; n = walk.nextNode())
        if (n.textContent.includes(dir)) n.textContent = n.textContent.split(dir).join('<state-dir>');
    })()`);
    await target.screenshot({ path: join(shotsDir, file), animations: 'disabled' });
    shots.push({ file, caption });
  };
  const open = async (email: string): Promise<Page> => {
    const page = await (await browser.newContext({ viewport: { width: 1280, height: 900 } })).newPage();
    await page.goto(await server.signInLink(email));
    await page.getByTestId('account').filter({ hasText: email }).waitFor();
    return page;
  };
  const section = (page: Page, title: string | RegExp) =>
    page.locator('section.panel', { has: page.getByRole('heading', { name: title }) });

  const signedOut = await (await browser.newContext({ viewport: { width: 1280, height: 900 } })).newPage();
  await signedOut.goto(`${server.url}/console/`);
  await signedOut.getByLabel('Email').waitFor();
  await shoot(
    signedOut,
    'sign-in.png',
    'Sign in: the dev login on a dev server, or the credential the administrator issued.',
  );

  const collaborator = await open(accounts['collaborator-1']);
  await collaborator.getByTestId('exchange').first().waitFor();
  await collaborator
    .getByTestId('exchange')
    .first()
    .getByRole('button', { name: 'Explain against the condition' })
    .click();
  await collaborator.getByTestId('explanation').first().waitFor();
  await shoot(
    section(collaborator, /^Provider /),
    'provider.png',
    'A provider: its condition next to the tokens exchanged against it, explained clause by clause.',
  );
  await collaborator.getByLabel('Token', { exact: true }).selectOption({ index: 1 });
  const playground = section(collaborator, 'Policy playground');
  const condition = playground.getByLabel('Attribute condition (CEL over assertion)');
  await condition.fill(`${await condition.inputValue()} &&\n  assertion.dbgstat == 'enabled'`);
  await playground.getByRole('button', { name: 'Evaluate' }).click();
  await playground.getByTestId('key-match').first().waitFor();
  await shoot(
    playground,
    'playground.png',
    'The policy playground: a draft condition on recorded claims, the failing clause, and the bindings the principal would match.',
  );
  await collaborator.getByTestId('key-use').first().waitFor();
  await shoot(
    section(collaborator, 'Keys and their releases'),
    'keys.png',
    'Keys and who used them when: federated identity, image, instance.',
  );
  await collaborator.getByRole('link', { name: 'Audit' }).click();
  await collaborator.getByTestId('chain-status').waitFor();
  await collaborator.locator('.timeline li').nth(5).waitFor();
  await shoot(collaborator, 'audit.png', "A project's audit log as a timeline, and its chain's verification.");

  const operator = await open(accounts.operator);
  await operator.getByRole('link', { name: 'Operator' }).click();
  await operator.getByRole('button', { name: 'Start' }).click();
  await operator
    .getByTestId('serial')
    .filter({ hasText: /workload started[\s\S]*workload started/ })
    .waitFor({ timeout: 60_000 });
  await section(operator, 'Attestation token claims').getByRole('button', { name: 'Read again' }).click();
  await operator.getByText('Platform (hwmodel)').waitFor();
  await shoot(
    operator.locator('main'),
    'operator.png',
    'An instance: status, restarts, the serial console live, the launch policy next to the metadata, the token claims.',
  );

  const builder = await open(accounts.builder);
  await builder.getByRole('link', { name: 'Builder' }).click();
  await builder.getByTestId('attestation').nth(1).waitFor();
  await shoot(
    builder.locator('main'),
    'builder.png',
    'An image: digest, the rebuild check, who signed it, its launch policy, provenance and SBOM.',
  );
  await browser.close();

  const doc = join(root, 'docs', 'console.md');
  const text = readFileSync(doc, 'utf8');
  const start = '<!-- screenshots: generated by npm run docs:console -->';
  const end = '<!-- end of screenshots -->';
  const list = shots.map((s) => `![${s.caption}](console/${s.file})\n\n*${s.caption}*\n`).join('\n');
  const [before, rest] = text.split(start);
  const after = rest?.split(end)[1];
  if (before === undefined || after === undefined)
    throw new Error(`docs/console.md lacks the ${start} … ${end} markers`);
  writeFileSync(doc, `${before}${start}\n\n${list}\n${end}${after}`);
  process.stdout.write(`wrote ${shots.length} screenshots to docs/console/\n`);
} finally {
  await server.close();
  rmSync(work, { recursive: true, force: true });
}
