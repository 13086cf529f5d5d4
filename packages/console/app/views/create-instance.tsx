// A new instance, with the same request and the same server-side checks as `sealroom compute instances create`.
import { useState } from 'preact/hooks';
import { post } from '../lib/api.ts';
import { ErrorNote, Section } from '../ui.tsx';
import type { Project } from './app.tsx';

interface Form {
  name: string;
  zone: string;
  family: 'confidential-space' | 'confidential-space-debug';
  serviceAccount: string;
  image: string;
  restart: 'Never' | 'OnFailure' | 'Always';
  extra: string;
}

/** `KEY=VALUE` per line; the value keeps any `=` after the first. */
function extraItems(text: string): { key: string; value: string }[] {
  return text
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((line) => {
      const eq = line.indexOf('=');
      if (eq <= 0) throw new Error(`Metadata lines are KEY=VALUE: "${line.trim().slice(0, 60)}"`);
      return { key: line.slice(0, eq).trim(), value: line.slice(eq + 1) };
    });
}

export function CreateInstance({ project, onCreated }: { project: Project; onCreated: () => void }) {
  const [form, setForm] = useState<Form>({
    name: '',
    zone: 'us-central1-a',
    family: 'confidential-space',
    serviceAccount: '',
    image: '',
    restart: 'Never',
    extra: '',
  });
  const [state, setState] = useState<{ error?: unknown; done?: string }>({});
  const set = (key: keyof Form) => (e: Event) =>
    setForm({ ...form, [key]: (e.currentTarget as HTMLInputElement | HTMLSelectElement).value });
  const submit = async () => {
    try {
      const items = [
        { key: 'tee-image-reference', value: form.image.trim() },
        { key: 'tee-restart-policy', value: form.restart },
        ...extraItems(form.extra),
      ];
      await post(`/compute/v1/projects/${project.projectId}/zones/${encodeURIComponent(form.zone)}/instances`, {
        name: form.name.trim(),
        disks: [
          {
            boot: true,
            autoDelete: true,
            initializeParams: { sourceImage: `projects/confidential-space-images/global/images/family/${form.family}` },
          },
        ],
        serviceAccounts: [
          { email: form.serviceAccount.trim(), scopes: ['https://www.googleapis.com/auth/cloud-platform'] },
        ],
        metadata: { items },
        confidentialInstanceConfig: { enableConfidentialCompute: true },
        shieldedInstanceConfig: { enableSecureBoot: true },
      });
      setState({ done: `Created ${form.name}.` });
      onCreated();
    } catch (error) {
      setState({ error });
    }
  };
  const text = (key: keyof Form, label: string, placeholder = '') => (
    <div class="field">
      <label for={`new-${key}`}>{label}</label>
      <input id={`new-${key}`} value={form[key]} placeholder={placeholder} onInput={set(key)} required />
    </div>
  );
  return (
    <Section title="Create an instance" id="create">
      <form
        class="grid-form"
        onSubmit={(e) => {
          e.preventDefault();
          void submit();
        }}
      >
        {text('name', 'Name', 'vm1')}
        {text('zone', 'Zone')}
        <div class="field">
          <label for="new-family">Image family</label>
          <select id="new-family" value={form.family} onChange={set('family')}>
            <option value="confidential-space">confidential-space (hardened)</option>
            <option value="confidential-space-debug">confidential-space-debug</option>
          </select>
        </div>
        {text('serviceAccount', 'Service account', `NAME@${project.projectId}.iam.gserviceaccount.com`)}
        {text('image', 'Image reference (tee-image-reference)', `${location.host}/PROJECT/REPO/IMAGE@sha256:…`)}
        <div class="field">
          <label for="new-restart">Restart policy</label>
          <select id="new-restart" value={form.restart} onChange={set('restart')}>
            <option>Never</option>
            <option>OnFailure</option>
            <option>Always</option>
          </select>
        </div>
        <div class="field wide">
          <label for="new-extra">More metadata (KEY=VALUE per line, e.g. tee-env-NAME=value)</label>
          <textarea id="new-extra" rows={3} value={form.extra} onInput={set('extra')} />
        </div>
        <button type="submit">Create</button>
      </form>
      <ErrorNote error={state.error} />
      {state.done ? (
        <p class="note ok" role="status">
          {state.done}
        </p>
      ) : null}
    </Section>
  );
}
