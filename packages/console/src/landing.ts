// The server's landing page at `/`: where the console, the documentation and the discovery document are.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { extname, join } from 'node:path';
import type { ConsoleFile } from './assets.ts';

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

export function renderLandingPage(options: { readonly dev: boolean; readonly docs: readonly string[] }): string {
  const docLinks = options.docs
    .filter((name) => name.endsWith('.md'))
    .map((name) => `<li><a href="/docs/${escapeHtml(name)}">${escapeHtml(name.replace(/\.md$/, ''))}</a></li>`)
    .join('');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Sealroom</title>
</head>
<body>
<main>
<h1>Sealroom</h1>
<p>Confidential multi-party computing: each party keeps its own keys and policy, and releases them only to an attested workload.${options.dev ? ' <strong>This server runs in dev mode: never use it for real data.</strong>' : ''}</p>
<ul>
<li><a href="/console/">The console</a>: what each party can see and check</li>
<li><a href="/.well-known/openid-configuration">The verifier's OpenID discovery document</a></li>
<li><a href="/healthz">Health</a> and <a href="/readyz">readiness</a></li>
</ul>
${docLinks ? `<h2>Documentation</h2><ul>${docLinks}</ul>` : ''}
</main>
</body>
</html>
`;
}

/** The repository's docs (markdown, and the console's screenshots), read once; names are the only keys served. */
export function loadDocs(docsDir: string | undefined): ReadonlyMap<string, Omit<ConsoleFile, 'etag'>> {
  const docs = new Map<string, Omit<ConsoleFile, 'etag'>>();
  if (!docsDir || !existsSync(docsDir)) return docs;
  for (const name of readdirSync(docsDir).sort()) {
    if (extname(name) === '.md')
      docs.set(name, { body: readFileSync(join(docsDir, name)), contentType: 'text/plain; charset=utf-8' });
  }
  const shots = join(docsDir, 'console');
  if (existsSync(shots)) {
    for (const name of readdirSync(shots).sort())
      if (extname(name) === '.png')
        docs.set(`console/${name}`, { body: readFileSync(join(shots, name)), contentType: 'image/png' });
  }
  return docs;
}
