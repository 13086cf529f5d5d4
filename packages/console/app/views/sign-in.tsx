// Sign in: the dev login on a dev server, otherwise the credential file the administrator issued.
import { useState } from 'preact/hooks';
import { devLogin, signInWithCredential } from '../lib/api.ts';
import { ErrorNote } from '../ui.tsx';

export function SignIn({ dev, notice }: { dev: boolean; notice?: string }) {
  const [email, setEmail] = useState('');
  const [credential, setCredential] = useState('');
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);

  const run = async (action: () => Promise<void>) => {
    setBusy(true);
    setError(undefined);
    try {
      await action();
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };
  const useCredential = (text: string) =>
    run(async () => {
      let parsed: Record<string, string>;
      try {
        parsed = JSON.parse(text) as Record<string, string>;
      } catch {
        throw new Error('The credential is not JSON: paste the whole file the administrator issued.');
      }
      await signInWithCredential(parsed);
    });
  const readFile = async (event: Event) => {
    const file = (event.currentTarget as HTMLInputElement).files?.[0];
    if (file) await useCredential(await file.text());
  };

  return (
    <main class="sign-in" id="main">
      <h1>Sealroom console</h1>
      <p>
        What each party can see and check: collaborators their policies and key releases, operators their instances,
        builders their images, everyone their audit log. You see exactly what your credentials allow.
      </p>
      {notice ? (
        <p class="note" role="status">
          {notice}
        </p>
      ) : null}
      <ErrorNote error={error} />
      {dev ? (
        <form
          class="panel"
          onSubmit={(e) => {
            e.preventDefault();
            void run(() => devLogin(email.trim()));
          }}
        >
          <h2>Dev login</h2>
          <p class="note warn">
            This server runs in dev mode: anyone can sign in as anyone. Never use it for real data.
          </p>
          <label for="dev-email">Email</label>
          <input
            id="dev-email"
            type="email"
            autoComplete="username"
            required
            value={email}
            onInput={(e) => setEmail((e.currentTarget as HTMLInputElement).value)}
          />
          <button type="submit" disabled={busy}>
            Sign in
          </button>
        </form>
      ) : null}
      <form
        class="panel"
        onSubmit={(e) => {
          e.preventDefault();
          void useCredential(credential);
        }}
      >
        <h2>Sign in with your credential</h2>
        <p>
          The <code>authorized_user</code> file your administrator issued (<code>sealroom admin users create</code>). It
          stays in this page's memory only; closing or reloading the page signs you out.
        </p>
        <label for="credential-file">Credential file</label>
        <input id="credential-file" type="file" accept="application/json,.json" onChange={readFile} />
        <label for="credential-text">…or paste it</label>
        <textarea
          id="credential-text"
          rows={4}
          spellcheck={false}
          autoComplete="off"
          value={credential}
          onInput={(e) => setCredential((e.currentTarget as HTMLTextAreaElement).value)}
        />
        <button type="submit" disabled={busy || credential.trim() === ''}>
          Sign in with credential
        </button>
      </form>
    </main>
  );
}
