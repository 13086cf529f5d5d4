// The policy playground: a token (pasted, or the claims of a recorded exchange), a draft condition and
// mapping, the verdict clause by clause, and the IAM bindings on this project's keys the principal would match.
import { useState } from 'preact/hooks';
import { patch, pathOf } from '../lib/api.ts';
import { decodeJwt } from '../lib/jwt.ts';
import { type Binding, type CryptoKey, getPolicy } from '../lib/kms.ts';
import {
  type Evidence,
  type Explanation,
  explain,
  mappingToText,
  type Provider,
  textToMapping,
} from '../lib/policy.ts';
import { Badge, Empty, ErrorNote, lastSegment, Section } from '../ui.tsx';
import { ExplanationView } from './clauses.tsx';
import type { RecordedExchange } from './provider.tsx';

const DECRYPT = 'cloudkms.cryptoKeyVersions.useToDecrypt';

interface KeyMatch {
  readonly key: string;
  readonly bindings: readonly { role: string; member: string }[];
  readonly allowed?: boolean;
  readonly error?: unknown;
}

export function Playground({
  provider,
  keys,
  recorded,
  onSaved,
}: {
  provider: Provider;
  keys: readonly CryptoKey[];
  recorded: readonly RecordedExchange[];
  onSaved: () => void;
}) {
  const [source, setSource] = useState<string>('paste');
  const [token, setToken] = useState('');
  const [condition, setCondition] = useState(provider.attributeCondition ?? '');
  const [mapping, setMapping] = useState(mappingToText(provider.attributeMapping));
  const [result, setResult] = useState<{ explanation?: Explanation; matches?: KeyMatch[]; error?: unknown }>({});
  const [saved, setSaved] = useState<{ ok?: boolean; error?: unknown }>({});
  const [busy, setBusy] = useState(false);
  const pasted = source === 'paste' ? decodeJwt(token) : undefined;

  const evidence = (): Evidence => {
    if (source === 'paste') {
      if (!pasted) throw new Error('Paste a token (a JWT: three base64url parts separated by dots).');
      return { subjectToken: token.trim() };
    }
    const chosen = recorded[Number(source)];
    if (!chosen?.claims) throw new Error('Pick a recorded exchange.');
    return { claims: chosen.claims };
  };

  const evaluate = async () => {
    setBusy(true);
    setSaved({});
    try {
      const draft = { attributeCondition: condition, attributeMapping: textToMapping(mapping) };
      const given = evidence();
      const explanation = await explain(provider.name, given, draft);
      const members = new Set(explanation.members);
      const matches: KeyMatch[] = [];
      if (explanation.mapping.ok) {
        for (const key of keys) {
          try {
            const bindings = (await getPolicy(key.name)).flatMap((b: Binding) =>
              b.members.filter((m) => members.has(m)).map((member) => ({ role: b.role, member })),
            );
            // IAM's own decision for this principal on this key, as STS would hand it over.
            const decided = await explain(provider.name, given, draft, { resource: key.name, permissions: [DECRYPT] });
            matches.push({ key: key.name, bindings, allowed: decided.access[0]?.allowed === true });
          } catch (error) {
            matches.push({ key: key.name, bindings: [], error });
          }
        }
      }
      setResult({ explanation, matches });
    } catch (error) {
      setResult({ error });
    } finally {
      setBusy(false);
    }
  };

  const save = async () => {
    if (!confirm(`Save this condition and mapping to ${lastSegment(provider.name)}? Token exchanges use it at once.`))
      return;
    try {
      await patch(`/v1/${pathOf(provider.name)}?updateMask=attributeCondition,attributeMapping`, {
        attributeCondition: condition,
        attributeMapping: textToMapping(mapping),
      });
      setSaved({ ok: true });
      onSaved();
    } catch (error) {
      setSaved({ error });
    }
  };

  return (
    <Section title="Policy playground" id="playground">
      <p>
        Try a condition and mapping on a token before saving them. Nothing here changes the provider until you save.
      </p>
      <form
        class="playground"
        onSubmit={(e) => {
          e.preventDefault();
          void evaluate();
        }}
      >
        <label for="pg-source">Token</label>
        <select id="pg-source" value={source} onChange={(e) => setSource((e.currentTarget as HTMLSelectElement).value)}>
          <option value="paste">Paste a token</option>
          {recorded.map((x, i) => (
            <option key={x.entry.insertId} value={String(i)}>
              Claims of the exchange at {x.entry.timestamp} ({x.claimsVerified ? 'verified then' : 'never verified'})
            </option>
          ))}
        </select>
        {source === 'paste' ? (
          <>
            <label for="pg-token">Attestation token (JWT)</label>
            <textarea
              id="pg-token"
              rows={3}
              spellcheck={false}
              autoComplete="off"
              value={token}
              onInput={(e) => setToken((e.currentTarget as HTMLTextAreaElement).value)}
            />
            {token.trim() !== '' && !pasted ? <p class="note error">This is not a JWT.</p> : null}
          </>
        ) : null}
        <label for="pg-condition">Attribute condition (CEL over assertion)</label>
        <textarea
          id="pg-condition"
          rows={5}
          spellcheck={false}
          value={condition}
          onInput={(e) => setCondition((e.currentTarget as HTMLTextAreaElement).value)}
        />
        <label for="pg-mapping">Attribute mapping (one KEY=EXPRESSION per line)</label>
        <textarea
          id="pg-mapping"
          rows={3}
          spellcheck={false}
          value={mapping}
          onInput={(e) => setMapping((e.currentTarget as HTMLTextAreaElement).value)}
        />
        <div class="actions">
          <button type="submit" disabled={busy}>
            Evaluate
          </button>
          <button type="button" class="secondary" onClick={save}>
            Save to provider
          </button>
        </div>
      </form>
      <ErrorNote error={saved.error} />
      {saved.ok ? (
        <p class="note ok" role="status">
          Saved: the provider uses this condition and mapping now.
        </p>
      ) : null}
      <ErrorNote error={result.error} />
      <div aria-live="polite">
        {result.explanation ? (
          <>
            <ExplanationView explanation={result.explanation} />
            <h4>IAM bindings this principal would match</h4>
            {result.explanation.principal ? (
              <p>
                Principal: <span class="mono">{result.explanation.principal}</span>
              </p>
            ) : null}
            {result.matches && result.matches.length === 0 ? <Empty>No key in this project to test.</Empty> : null}
            <table>
              <caption class="sr-only">Keys of this project and the bindings that would apply</caption>
              <thead>
                <tr>
                  <th scope="col">Key</th>
                  <th scope="col">Matching bindings</th>
                  <th scope="col">May decrypt</th>
                </tr>
              </thead>
              <tbody>
                {(result.matches ?? []).map((m) => (
                  <tr key={m.key} data-testid="key-match">
                    <td class="mono">{m.key.split('/').slice(-3).join('/')}</td>
                    <td>
                      {m.bindings.length === 0 ? <span class="muted">none</span> : null}
                      {m.bindings.map((b) => (
                        <div key={`${b.role} ${b.member}`}>
                          {b.role} ← <span class="mono">{b.member}</span>
                        </div>
                      ))}
                      <ErrorNote error={m.error} />
                    </td>
                    <td>{m.allowed ? <Badge tone="ok">yes</Badge> : <Badge tone="bad">no</Badge>}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </>
        ) : null}
      </div>
    </Section>
  );
}
