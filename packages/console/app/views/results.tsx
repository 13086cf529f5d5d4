// The collaborator's results: its secrets' versions, and sealed results opened in the page with its own key.
import { useState } from 'preact/hooks';
import { get, pathOf, post } from '../lib/api.ts';
import { useLoad } from '../lib/hooks.ts';
import type { CryptoKey } from '../lib/kms.ts';
import { Empty, ErrorNote, Json, Loading, lastSegment, Section, Time } from '../ui.tsx';
import type { Project } from './app.tsx';

interface SecretVersion {
  readonly name: string;
  readonly createTime: string;
  readonly state: string;
}

const IV_BYTES = 12;

function fromBase64(text: string): Uint8Array<ArrayBuffer> {
  return Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
}

function toBase64(bytes: Uint8Array): string {
  return btoa(String.fromCharCode(...bytes));
}

/**
 * Opens a `{k, c}` envelope (@sealroom/workload): KMS unwraps the data key with the person's own rights
 * (and audits it), then AES-256-GCM opens `iv ‖ ciphertext ‖ tag` here. The plaintext stays in this page.
 */
async function openSealed(sealed: { k: string; c: string }, key: string, aad: string): Promise<string> {
  const aadBytes = new TextEncoder().encode(aad);
  const unwrapped = await post<{ plaintext: string }>(`/v1/${pathOf(key)}:decrypt`, {
    ciphertext: sealed.k,
    additionalAuthenticatedData: toBase64(aadBytes),
  });
  const dataKey = await crypto.subtle.importKey('raw', fromBase64(unwrapped.plaintext), 'AES-GCM', false, ['decrypt']);
  const box = fromBase64(sealed.c);
  const plain = await crypto.subtle.decrypt(
    { name: 'AES-GCM', iv: box.subarray(0, IV_BYTES), additionalData: aadBytes, tagLength: 128 },
    dataKey,
    box.subarray(IV_BYTES),
  );
  return new TextDecoder().decode(plain);
}

export function ResultsSection({ project, keys }: { project: Project; keys: readonly CryptoKey[] }) {
  const secrets = useLoad(async () => {
    const list =
      (await get<{ secrets?: { name: string }[] }>(`/v1/projects/${project.projectId}/secrets`)).secrets ?? [];
    return Promise.all(
      list.map(async (s) => ({
        name: s.name,
        versions: ((await get<{ versions?: SecretVersion[] }>(`/v1/${pathOf(s.name)}/versions`)).versions ?? []).slice(
          0,
          5,
        ),
      })),
    );
  }, [project.projectId]);
  return (
    <Section title="Results" id="results">
      <p>
        Results the workload sealed for this project under its own key. Opening one asks KMS, with your rights, to
        unwrap its data key; the result is decrypted in this page and shown only here.
      </p>
      <ErrorNote error={secrets.error} />
      {secrets.loading ? <Loading what="results" /> : null}
      {secrets.value && secrets.value.length === 0 ? <Empty>No secrets in this project.</Empty> : null}
      {(secrets.value ?? []).map((s) => (
        <article key={s.name} class="secret">
          <h3 class="mono">{lastSegment(s.name)}</h3>
          {s.versions.length === 0 ? <Empty>No versions yet.</Empty> : null}
          <ul>
            {s.versions.map((v) => (
              <VersionRow key={v.name} version={v} project={project} keys={keys} />
            ))}
          </ul>
        </article>
      ))}
    </Section>
  );
}

function VersionRow({
  version,
  project,
  keys,
}: {
  version: SecretVersion;
  project: Project;
  keys: readonly CryptoKey[];
}) {
  const encryptionKeys = keys.filter((k) => k.purpose === 'ENCRYPT_DECRYPT');
  const [key, setKey] = useState(encryptionKeys[0]?.name ?? '');
  const [aad, setAad] = useState(`sealroom-wordcount/result/${project.projectId}`);
  const [state, setState] = useState<{ text?: string; error?: unknown }>({});
  const id = `open-${lastSegment(version.name)}-${version.name.length}`;
  const open = async () => {
    try {
      const access = await get<{ payload: { data: string } }>(`/v1/${pathOf(version.name)}:access`);
      const text = new TextDecoder().decode(fromBase64(access.payload.data));
      const sealed = JSON.parse(text) as { k?: unknown; c?: unknown };
      if (typeof sealed.k !== 'string' || typeof sealed.c !== 'string')
        throw new Error('This version is not a sealed {k, c} envelope; the console does not show other payloads.');
      setState({ text: await openSealed({ k: sealed.k, c: sealed.c }, key, aad) });
    } catch (error) {
      setState({ error });
    }
  };
  let shown: unknown;
  try {
    shown = state.text === undefined ? undefined : JSON.parse(state.text);
  } catch {
    shown = state.text;
  }
  return (
    <li>
      version {lastSegment(version.name)} <Time iso={version.createTime} /> {version.state}
      <details>
        <summary>Open with my key</summary>
        <label for={`${id}-key`}>Key</label>
        <select id={`${id}-key`} value={key} onChange={(e) => setKey((e.currentTarget as HTMLSelectElement).value)}>
          {encryptionKeys.map((k) => (
            <option key={k.name} value={k.name}>
              {k.name.split('/').slice(-3).join('/')}
            </option>
          ))}
        </select>
        <label for={`${id}-aad`}>Associated data</label>
        <input id={`${id}-aad`} value={aad} onInput={(e) => setAad((e.currentTarget as HTMLInputElement).value)} />
        <button type="button" onClick={open} disabled={!key}>
          Open
        </button>
        <ErrorNote error={state.error} />
        {shown !== undefined ? <Json value={shown} label="The opened result" /> : null}
      </details>
    </li>
  );
}
