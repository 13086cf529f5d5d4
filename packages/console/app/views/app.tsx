// The shell: sign-in (including a one-time link's code), the signed-in person's projects, and the four views.
import { useEffect, useState } from 'preact/hooks';
import { currentSession, get, onSessionChange, redeemSignInCode, signOut } from '../lib/api.ts';
import { useLoad } from '../lib/hooks.ts';
import { ErrorNote, Loading } from '../ui.tsx';
import { AuditView } from './audit.tsx';
import { BuilderView } from './builder.tsx';
import { CollaboratorView } from './collaborator.tsx';
import { OperatorView } from './operator.tsx';
import { SignIn } from './sign-in.tsx';

export interface Project {
  readonly projectId: string;
  readonly projectNumber: string;
}

const TABS = [
  ['collaborator', 'Collaborator'],
  ['operator', 'Operator'],
  ['builder', 'Builder'],
  ['audit', 'Audit'],
] as const;
type Tab = (typeof TABS)[number][0];

/** `#/TAB/PROJECT`: where the person is, never anything secret. */
function readRoute(): { tab: Tab; project: string | undefined } {
  const [, tab, project] = location.hash.split('/');
  const known = TABS.some(([t]) => t === tab) ? (tab as Tab) : 'collaborator';
  return { tab: known, project: project ? decodeURIComponent(project) : undefined };
}

/** Takes a one-time code out of the address bar at once, before anything else can read or keep it. */
function takeSignInCode(): string | undefined {
  const match = /^#sign-in=([A-Za-z0-9._-]{1,256})$/.exec(location.hash);
  if (!match) return undefined;
  history.replaceState(null, '', `${location.pathname}${location.search}`);
  return match[1];
}

export function App() {
  const [signedIn, setSignedIn] = useState(currentSession() !== undefined);
  const [settings, setSettings] = useState<{ dev: boolean } | undefined>();
  const [linkState, setLinkState] = useState<{ busy: boolean; error?: unknown }>({ busy: false });
  useEffect(() => onSessionChange(() => setSignedIn(currentSession() !== undefined)), []);
  useEffect(() => {
    fetch('/console/settings.json', { cache: 'no-store', credentials: 'omit' })
      .then((r) => r.json() as Promise<{ dev: boolean }>)
      .then(setSettings, () => setSettings({ dev: false }));
    const code = takeSignInCode();
    if (code) {
      setLinkState({ busy: true });
      redeemSignInCode(code).then(
        () => setLinkState({ busy: false }),
        (error: unknown) => setLinkState({ busy: false, error }),
      );
    }
  }, []);
  if (linkState.busy) return <Loading what="your sign-in link" />;
  if (!signedIn) {
    if (!settings) return <Loading what="the console" />;
    return (
      <>
        <ErrorNote error={linkState.error} />
        <SignIn dev={settings.dev} />
      </>
    );
  }
  return <Shell />;
}

function Shell() {
  const [route, setRoute] = useState(readRoute());
  useEffect(() => {
    const update = () => setRoute(readRoute());
    addEventListener('hashchange', update);
    return () => removeEventListener('hashchange', update);
  }, []);
  const projects = useLoad(() => get<{ projects?: Project[] }>('/v1/projects'), []);
  const list = projects.value?.projects ?? [];
  const project = list.find((p) => p.projectId === route.project) ?? list[0];
  const go = (tab: Tab, projectId = project?.projectId) => {
    location.hash = `#/${tab}${projectId ? `/${encodeURIComponent(projectId)}` : ''}`;
  };
  const session = currentSession();
  return (
    <>
      <a class="skip" href="#main">
        Skip to content
      </a>
      <header class="top">
        <span class="brand">Sealroom console</span>
        <nav aria-label="Views">
          <ul>
            {TABS.map(([tab, label]) => (
              <li key={tab}>
                <a
                  href={`#/${tab}${project ? `/${encodeURIComponent(project.projectId)}` : ''}`}
                  aria-current={route.tab === tab ? 'page' : undefined}
                >
                  {label}
                </a>
              </li>
            ))}
          </ul>
        </nav>
        <div class="who">
          <label for="project-picker">Project</label>
          <select
            id="project-picker"
            value={project?.projectId ?? ''}
            onChange={(e) => go(route.tab, (e.currentTarget as HTMLSelectElement).value)}
          >
            {list.map((p) => (
              <option key={p.projectId} value={p.projectId}>
                {p.projectId}
              </option>
            ))}
          </select>
          <span class="account" data-testid="account">
            {session?.account}
          </span>
          <button type="button" onClick={() => signOut()}>
            Sign out
          </button>
        </div>
      </header>
      <main id="main" tabIndex={-1}>
        <ErrorNote error={projects.error} />
        {projects.loading && !projects.value ? <Loading what="your projects" /> : null}
        {!projects.loading && !project ? (
          <p class="note">
            You can see no project yet. Create one with <code>sealroom projects create</code>, or ask a project's owner
            to grant you a role on it.
          </p>
        ) : null}
        {project ? <View tab={route.tab} project={project} /> : null}
      </main>
    </>
  );
}

function View({ tab, project }: { tab: Tab; project: Project }) {
  switch (tab) {
    case 'operator':
      return <OperatorView project={project} />;
    case 'builder':
      return <BuilderView project={project} />;
    case 'audit':
      return <AuditView project={project} />;
    default:
      return <CollaboratorView project={project} />;
  }
}
