// One provider: its condition next to the tokens exchanged against it (from the audit log), why each
// refusal happened, and the playground.
import { useState } from 'preact/hooks';
import { type LogEntry, isRefused, listEntries, quote } from '../lib/audit.ts';
import { useLoad } from '../lib/hooks.ts';
import type { CryptoKey } from '../lib/kms.ts';
import { type Explanation, explain, mappingToText, type Provider } from '../lib/policy.ts';
import { Badge, Empty, ErrorNote, Json, KeyValues, Loading, Section, Time } from '../ui.tsx';
import type { Project } from './app.tsx';
import { ExplanationView } from './clauses.tsx';
import { Playground } from './playground.tsx';

export const EXCHANGE_METHOD = 'google.identity.sts.v1.SecurityTokenService.ExchangeToken';

export interface RecordedExchange {
  readonly entry: LogEntry;
  readonly claims?: Record<string, unknown>;
  readonly claimsVerified: boolean;
}

function toRecorded(entry: LogEntry): RecordedExchange {
  const metadata = entry.protoPayload?.metadata ?? {};
  const claims = metadata.claims;
  return {
    entry,
    ...(typeof claims === 'object' && claims !== null ? { claims: claims as Record<string, unknown> } : {}),
    claimsVerified: metadata.claimsVerified === true,
  };
}

export function ProviderDetail({
  provider,
  project,
  keys,
  onSaved,
}: {
  provider: Provider;
  project: Project;
  keys: readonly CryptoKey[];
  onSaved: () => void;
}) {
  const exchanges = useLoad(
    async () =>
      (
        await listEntries(project.projectId, {
          filter: `protoPayload.methodName=${quote(EXCHANGE_METHOD)} AND protoPayload.resourceName=${quote(provider.name)}`,
          pageSize: 20,
        })
      ).entries.map(toRecorded),
    [project.projectId, provider.name],
  );
  return (
    <>
      <Section title={`Provider ${provider.name.split('/').slice(-3).join('/')}`} id="provider">
        <KeyValues
          rows={[
            ['Name', <span class="mono">{provider.name}</span>],
            ['Issuer', <span class="mono">{provider.oidc.issuerUri}</span>],
            [
              'Audiences',
              <span class="mono">{provider.oidc.allowedAudiences.join(', ') || '(the provider name)'}</span>,
            ],
          ]}
        />
        <div class="side-by-side">
          <div>
            <h3>Attribute condition</h3>
            <pre class="code" data-testid="saved-condition">
              {provider.attributeCondition || '(none: every mapped token passes)'}
            </pre>
            <h3>Attribute mapping</h3>
            <pre class="code">{mappingToText(provider.attributeMapping)}</pre>
          </div>
          <div>
            <h3>Tokens exchanged against it</h3>
            <ErrorNote error={exchanges.error} />
            {exchanges.loading ? <Loading what="exchanges" /> : null}
            {exchanges.value && exchanges.value.length === 0 ? (
              <Empty>No token has been exchanged against this provider yet.</Empty>
            ) : null}
            <ol class="exchanges">
              {(exchanges.value ?? []).map((x) => (
                <ExchangeRow key={x.entry.insertId} exchange={x} provider={provider} />
              ))}
            </ol>
          </div>
        </div>
      </Section>
      <Playground
        provider={provider}
        keys={keys}
        recorded={(exchanges.value ?? []).filter((x) => x.claims !== undefined)}
        onSaved={onSaved}
      />
    </>
  );
}

function ExchangeRow({ exchange, provider }: { exchange: RecordedExchange; provider: Provider }) {
  const [result, setResult] = useState<{ explanation?: Explanation; error?: unknown }>({});
  const { entry, claims } = exchange;
  const refused = isRefused(entry);
  const metadata = entry.protoPayload?.metadata ?? {};
  const run = async () => {
    if (!claims) return;
    try {
      setResult({ explanation: await explain(provider.name, { claims }) });
    } catch (error) {
      setResult({ error });
    }
  };
  return (
    <li class={refused ? 'refused' : ''} data-testid="exchange">
      <Time iso={entry.timestamp} />{' '}
      {refused ? (
        <Badge tone="bad">refused: {entry.protoPayload?.status?.code}</Badge>
      ) : (
        <Badge tone="ok">granted</Badge>
      )}{' '}
      <span class="mono">{String(metadata.subject ?? (claims?.sub as string | undefined) ?? '')}</span>
      {refused && typeof metadata.failingClause === 'string' ? (
        <div>
          Failing clause: <code>{metadata.failingClause}</code>
        </div>
      ) : null}
      {refused && typeof metadata.reason === 'string' ? <div class="muted">{metadata.reason}</div> : null}
      {claims ? (
        <>
          <details>
            <summary>Claims {exchange.claimsVerified ? '(verified at exchange)' : '(not verified)'}</summary>
            <Json value={claims} label="Claims of the exchanged token" />
          </details>
          <button type="button" onClick={run}>
            Explain against the condition
          </button>
        </>
      ) : null}
      <ErrorNote error={result.error} />
      {result.explanation ? <ExplanationView explanation={result.explanation} /> : null}
    </li>
  );
}
