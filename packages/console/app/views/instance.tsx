// One instance: the same lifecycle actions as the CLI, the serial console live, the image's launch policy
// next to the metadata the operator set, and the attestation token's claims, decoded.
import { useEffect, useRef, useState } from 'preact/hooks';
import { ApiError, del, get, send } from '../lib/api.ts';
import { loadImageLabels, parseImageReference } from '../lib/cosign.ts';
import { useLoad } from '../lib/hooks.ts';
import { formatTime } from '../lib/jwt.ts';
import { followEvents } from '../lib/sse.ts';
import { Badge, ErrorNote, Json, KeyValues, Loading, Section } from '../ui.tsx';
import { type InstanceJson, metadataValue, statusTone, zoneOf } from './operator.tsx';

const MAX_SERIAL_LINES = 2000;
/** Which `tee.launch_policy.*` label governs each operator metadata key (reference: the launcher's checks). */
const GOVERNED_BY: readonly [RegExp, string][] = [
  [/^tee-cmd$/, 'tee.launch_policy.allow_cmd_override'],
  [/^tee-env-/, 'tee.launch_policy.allow_env_override'],
  [/^tee-container-log-redirect$/, 'tee.launch_policy.log_redirect'],
  [/^tee-mount$/, 'tee.launch_policy.allow_mount_destinations'],
  [/^tee-monitoring-memory-enable$/, 'tee.launch_policy.monitoring_memory_allow'],
  [/^tee-monitoring-enable$/, 'tee.launch_policy.hardened_monitoring / debug_monitoring'],
];

function instancePath(instance: InstanceJson): string {
  return new URL(instance.selfLink).pathname;
}

export function InstanceDetail({ instance, onChange }: { instance: InstanceJson; onChange: () => void }) {
  const [live, setLive] = useState<{ status: string; bootCount: number; statusMessage?: string }>({
    status: instance.status,
    bootCount: instance.confidentialSpace.bootCount,
  });
  const [action, setAction] = useState<{ busy?: string; error?: unknown; done?: string }>({});
  const path = instancePath(instance);
  const act = async (verb: 'stop' | 'start' | 'reset' | 'delete') => {
    if (verb === 'delete' && !confirm(`Delete ${instance.name}? Its disk and serial output go with it.`)) return;
    if (verb === 'reset' && !confirm(`Reset ${instance.name}? The workload is killed at once, then boots again.`))
      return;
    setAction({ busy: verb });
    try {
      await (verb === 'delete' ? del(path) : send('POST', `${path}/${verb}`));
      setAction({ done: `${verb} done` });
      onChange();
    } catch (error) {
      setAction({ error });
    }
  };
  return (
    <>
      <Section title={`Instance ${instance.name}`} id="instance">
        <KeyValues
          rows={[
            ['Status', <Badge tone={statusTone(live.status)}>{live.status}</Badge>],
            ['Zone', zoneOf(instance)],
            ['Image family', instance.confidentialSpace.imageFamily],
            ['Image', <span class="mono">{metadataValue(instance, 'tee-image-reference') ?? ''}</span>],
            ['Restarts', String(Math.max(0, live.bootCount - 1))],
            ['Service account', <span class="mono">{instance.serviceAccounts[0]?.email}</span>],
            ['Container runtime', instance.confidentialSpace.containerRuntime ?? '—'],
          ]}
        />
        <div class="actions">
          <button type="button" onClick={() => act('start')} disabled={!!action.busy}>
            Start
          </button>
          <button type="button" onClick={() => act('stop')} disabled={!!action.busy}>
            Stop
          </button>
          <button type="button" onClick={() => act('reset')} disabled={!!action.busy}>
            Reset
          </button>
          <button type="button" class="danger" onClick={() => act('delete')} disabled={!!action.busy}>
            Delete
          </button>
        </div>
        <div aria-live="polite">
          {action.busy ? <Loading what={`${action.busy}`} /> : null}
          {action.done ? <p class="note ok">{action.done}</p> : null}
        </div>
        <ErrorNote error={action.error} />
      </Section>
      <SerialConsole path={path} onStatus={setLive} />
      <LaunchPolicy instance={instance} />
      <TokenClaims path={path} bootCount={live.bootCount} />
    </>
  );
}

function SerialConsole({
  path,
  onStatus,
}: {
  path: string;
  onStatus: (s: { status: string; bootCount: number; statusMessage?: string }) => void;
}) {
  const [lines, setLines] = useState<string[]>([]);
  const [state, setState] = useState<{ connected: boolean; ended?: string; error?: unknown }>({ connected: false });
  const box = useRef<HTMLPreElement>(null);
  // Follows the newest line until the person scrolls up to read; scrolling back down follows again.
  const follow = useRef(true);
  useEffect(() => {
    const controller = new AbortController();
    setLines([]);
    void followEvents(
      `${path}/serialPort:stream`,
      (event) => {
        setState({ connected: true });
        if (event.event === 'serial') setLines((l) => [...l, event.data].slice(-MAX_SERIAL_LINES));
        else if (event.event === 'instance') onStatus(JSON.parse(event.data));
        else if (event.event === 'end') setState({ connected: false, ended: JSON.parse(event.data).reason });
      },
      controller.signal,
      (error) => setState({ connected: false, error }),
    );
    return () => controller.abort();
  }, [path, onStatus]);
  useEffect(() => {
    const el = box.current;
    if (el && follow.current && lines.length > 0) el.scrollTop = el.scrollHeight;
  }, [lines]);
  const onScroll = () => {
    const el = box.current;
    if (el) follow.current = el.scrollHeight - el.scrollTop - el.clientHeight < 40;
  };
  return (
    <Section title="Serial console (live)" id="serial">
      <p class="muted" role="status">
        {state.connected
          ? 'Following the serial console as it is written.'
          : state.ended
            ? `Stream ended: ${state.ended}.`
            : 'Connecting…'}
      </p>
      <ErrorNote error={state.error} />
      <pre
        class="serial"
        ref={box}
        role="log"
        aria-label="Serial console output"
        data-testid="serial"
        onScroll={onScroll}
      >
        {lines.join('\n')}
      </pre>
    </Section>
  );
}

function LaunchPolicy({ instance }: { instance: InstanceJson }) {
  const reference = metadataValue(instance, 'tee-image-reference') ?? '';
  const labels = useLoad(async () => {
    const parsed = parseImageReference(reference);
    if (!parsed) throw new ApiError(400, 'The image is in another registry; the console reads only this server’s.');
    return loadImageLabels(parsed.repo, parsed.reference);
  }, [reference]);
  const policy = Object.entries(labels.value ?? {}).filter(([k]) => k.startsWith('tee.launch_policy.'));
  const metadata = (instance.metadata.items ?? []).filter((i) => i.key.startsWith('tee-'));
  return (
    <Section title="Launch policy and metadata" id="launch-policy">
      <div class="side-by-side">
        <div>
          <h3>The image's launch policy (labels)</h3>
          <ErrorNote error={labels.error} />
          {labels.error instanceof ApiError && labels.error.status === 403 ? (
            <p class="muted">
              Reading the image needs <code>roles/artifactregistry.reader</code> on its repository, which the builder
              grants; the instance's service account may have it while you do not.
            </p>
          ) : null}
          {labels.value && policy.length === 0 ? (
            <p class="muted">No launch policy labels: every override is refused.</p>
          ) : null}
          <KeyValues rows={policy.map(([k, v]) => [k, <span class="mono">{v}</span>] as const)} />
        </div>
        <div>
          <h3>The metadata the operator set</h3>
          <table>
            <caption class="sr-only">Metadata and the policy label that governs each key</caption>
            <thead>
              <tr>
                <th scope="col">Key</th>
                <th scope="col">Value</th>
                <th scope="col">Governed by</th>
              </tr>
            </thead>
            <tbody>
              {metadata.map((m) => (
                <tr key={m.key}>
                  <td class="mono">{m.key}</td>
                  <td class="mono clip">{m.value.length > 160 ? `${m.value.slice(0, 160)}…` : m.value}</td>
                  <td class="mono">{GOVERNED_BY.find(([re]) => re.test(m.key))?.[1] ?? '—'}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </div>
    </Section>
  );
}

function TokenClaims({ path, bootCount }: { path: string; bootCount: number }) {
  const claims = useLoad(
    () => get<{ header: Record<string, unknown>; claims: Record<string, unknown> }>(`${path}/attestationClaims`),
    [path, bootCount],
  );
  const c = claims.value?.claims;
  const container = (c?.submods as { container?: Record<string, unknown> } | undefined)?.container;
  return (
    <Section title="Attestation token claims" id="claims">
      <p class="muted">
        Decoded by the server from the token the instance holds now; the token itself never leaves the host.
      </p>
      {claims.error instanceof ApiError && claims.error.reason === 'ERR_COMPUTE_NO_TOKEN' ? (
        <p class="note">The instance holds no token now (not attested yet, refused, or stopped).</p>
      ) : (
        <ErrorNote error={claims.error} />
      )}
      {c ? (
        <>
          <KeyValues
            rows={[
              ['Platform (hwmodel)', String(c.hwmodel ?? '')],
              ['Software', `${String(c.swname ?? '')} ${JSON.stringify(c.swversion ?? [])}`],
              ['Debug status', String(c.dbgstat ?? '')],
              ['Image digest', <span class="mono">{String(container?.image_digest ?? '')}</span>],
              ['Restart policy', String(container?.restart_policy ?? '')],
              ['Issued', formatTime(c.iat)],
              ['Expires', formatTime(c.exp)],
              ['Key id', <span class="mono">{String(claims.value?.header.kid ?? '')}</span>],
            ]}
          />
          <details>
            <summary>All claims</summary>
            <Json value={c} label="Token claims" />
          </details>
        </>
      ) : null}
      <button type="button" onClick={claims.reload}>
        Read again
      </button>
    </Section>
  );
}
