// One explanation, shown the way a person reads a policy: verification, mapping, then each clause held or not.
import type { Explanation } from '../lib/policy.ts';
import { Badge, KeyValues } from '../ui.tsx';

const OUTCOME_LABEL: Record<string, string> = {
  true: 'holds',
  false: 'fails',
  error: 'error (denies)',
  'not-bool': 'not a boolean (denies)',
  'not-evaluated': 'not evaluated',
};

export function ExplanationView({ explanation }: { explanation: Explanation }) {
  const { verification, mapping, condition } = explanation;
  return (
    <div class="explanation" data-testid="explanation">
      <p>
        {explanation.policyGranted ? <Badge tone="ok">policy passes</Badge> : <Badge tone="bad">policy refuses</Badge>}{' '}
        {verification.ok ? (
          <Badge tone="ok">token verified</Badge>
        ) : verification.code === 'NOT_VERIFIED' ? (
          <Badge tone="neutral">claims only: not verified</Badge>
        ) : (
          <Badge tone="bad">token refused: {verification.code ?? 'unverified'}</Badge>
        )}{' '}
        {explanation.draft ? <Badge tone="warn">draft, not saved</Badge> : null}
      </p>
      {!verification.ok && verification.message ? <p class="muted">{verification.message}</p> : null}
      <h4>Mapping</h4>
      {mapping.ok ? (
        <KeyValues
          rows={[
            ['google.subject', <span class="mono">{mapping.subject}</span>],
            ...Object.entries(mapping.attributes ?? {}).map(
              ([k, v]) => [`attribute.${k}`, <span class="mono">{v}</span>] as const,
            ),
          ]}
        />
      ) : (
        <p>
          <Badge tone="bad">mapping failed</Badge> <span class="mono">{mapping.failedExpression}</span>{' '}
          {mapping.message}
        </p>
      )}
      <h4>
        Condition {condition.operator ? <span class="muted">(clauses joined by {condition.operator})</span> : null}
      </h4>
      {!condition.present ? <p class="muted">No condition: every mapped token passes.</p> : null}
      <ol class="clauses">
        {condition.clauses.map((c) => (
          <li
            key={c.index}
            class={`clause ${c.outcome === 'true' ? 'ok' : 'bad'}`}
            data-testid="clause"
            data-outcome={c.outcome}
          >
            <span class="clause-mark" aria-hidden="true">
              {c.outcome === 'true' ? '✓' : '✗'}
            </span>
            <code>{c.text}</code> <span class="clause-outcome">{OUTCOME_LABEL[c.outcome] ?? c.outcome}</span>
            {c.message ? <div class="muted">{c.message}</div> : null}
            <span class="muted">
              {' '}
              (line {c.line}, column {c.column})
            </span>
          </li>
        ))}
      </ol>
      {explanation.warnings.length > 0 ? (
        <ul class="warnings">
          {explanation.warnings.map((w) => (
            <li key={w} class="note warn">
              {w}
            </li>
          ))}
        </ul>
      ) : null}
    </div>
  );
}
