// Named configurations and stored credentials under $XDG_CONFIG_HOME/sealroom (gcloud's model).
import {
  chmodSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { UsageError } from './command.ts';

export const DEFAULT_API = 'http://127.0.0.1:8080';
const NAME = /^[a-z][a-z0-9-]{0,62}$/;

export interface Configuration {
  core?: { account?: string; project?: string };
  /** gcloud's compute/zone and compute/region: the defaults of --zone and --region. */
  compute?: { zone?: string; region?: string };
  api?: string;
}

export interface StoredCredential {
  readonly type: 'authorized_user';
  readonly account: string;
  readonly refresh_token: string;
  /** The server that issued it. */
  readonly api: string;
}

export interface CliConfig {
  readonly dir: string;
  activeName(): string;
  activate(name: string): void;
  create(name: string): void;
  list(): { name: string; active: boolean; config: Configuration }[];
  read(name?: string): Configuration;
  write(name: string, config: Configuration): void;
  /** The configuration this command uses (after --configuration). */
  readonly current: Configuration;
  readonly currentName: string;
  saveCredential(credential: StoredCredential): void;
  loadCredential(account: string): StoredCredential | undefined;
  listCredentials(): string[];
  /** Forgets the account's stored credential and every access token cached for it. */
  removeCredential(account: string): boolean;
  cacheToken(account: string, api: string, token: string, expiresAtMs: number): void;
  cachedToken(account: string, api: string, nowMs: number): string | undefined;
}

export function configDir(env: NodeJS.ProcessEnv): string {
  return join(env.XDG_CONFIG_HOME || join(homedir(), '.config'), 'sealroom');
}

export function openCliConfig(env: NodeJS.ProcessEnv, override: string | undefined): CliConfig {
  const dir = configDir(env);
  const configsDir = join(dir, 'configurations');
  const credsDir = join(dir, 'credentials');
  const activeFile = join(dir, 'active_config');
  const tokensFile = join(credsDir, 'access_tokens.json');
  const ensure = () => {
    mkdirSync(configsDir, { recursive: true, mode: 0o700 });
    mkdirSync(credsDir, { recursive: true, mode: 0o700 });
  };
  const pathOf = (name: string) => join(configsDir, `${name}.json`);
  const atomicWrite = (path: string, text: string, mode: number) => {
    ensure();
    const tmp = `${path}.tmp-${process.pid}`;
    writeFileSync(tmp, text, { mode });
    chmodSync(tmp, mode);
    renameSync(tmp, path);
  };
  const activeName = () => (existsSync(activeFile) ? readFileSync(activeFile, 'utf8').trim() || 'default' : 'default');
  const read = (name = activeName()): Configuration => {
    const path = pathOf(name);
    if (!existsSync(path)) {
      if (name === 'default') return {};
      throw new UsageError(`Cannot find a configuration named [${name}].`);
    }
    return JSON.parse(readFileSync(path, 'utf8')) as Configuration;
  };
  const currentName = override ?? env.SEALROOM_CONFIGURATION ?? activeName();
  const readTokens = (): Record<string, { token: string; expiresAt: number }> => {
    try {
      return JSON.parse(readFileSync(tokensFile, 'utf8')) as Record<string, { token: string; expiresAt: number }>;
    } catch {
      return {};
    }
  };
  return {
    dir,
    activeName,
    currentName,
    current: read(currentName),
    read,
    activate(name) {
      if (name !== 'default' && !existsSync(pathOf(name)))
        throw new UsageError(`Cannot find a configuration named [${name}].`);
      atomicWrite(activeFile, `${name}\n`, 0o600);
    },
    create(name) {
      if (!NAME.test(name))
        throw new UsageError(`Invalid configuration name [${name}]: use lowercase letters, digits and hyphens.`);
      if (existsSync(pathOf(name))) throw new UsageError(`Cannot create configuration [${name}], it already exists.`);
      atomicWrite(pathOf(name), '{}\n', 0o600);
    },
    list() {
      ensure();
      const names = new Set(
        readdirSync(configsDir)
          .filter((f) => f.endsWith('.json'))
          .map((f) => f.slice(0, -5)),
      );
      names.add('default');
      const active = activeName();
      return [...names].sort().map((name) => ({ name, active: name === active, config: read(name) }));
    },
    write(name, config) {
      atomicWrite(pathOf(name), `${JSON.stringify(config, null, 2)}\n`, 0o600);
    },
    saveCredential(credential) {
      atomicWrite(
        join(credsDir, `${encodeURIComponent(credential.account)}.json`),
        `${JSON.stringify(credential, null, 2)}\n`,
        0o600,
      );
    },
    loadCredential(account) {
      const path = join(credsDir, `${encodeURIComponent(account)}.json`);
      return existsSync(path) ? (JSON.parse(readFileSync(path, 'utf8')) as StoredCredential) : undefined;
    },
    listCredentials() {
      ensure();
      return readdirSync(credsDir)
        .filter((f) => f.endsWith('.json') && f !== 'access_tokens.json')
        .map((f) => decodeURIComponent(f.slice(0, -5)))
        .sort();
    },
    removeCredential(account) {
      const path = join(credsDir, `${encodeURIComponent(account)}.json`);
      const existed = existsSync(path);
      rmSync(path, { force: true });
      const tokens = readTokens();
      for (const key of Object.keys(tokens)) if (key.startsWith(`${account} `)) delete tokens[key];
      atomicWrite(tokensFile, JSON.stringify(tokens), 0o600);
      return existed;
    },
    cacheToken(account, api, token, expiresAtMs) {
      const tokens = readTokens();
      tokens[`${account} ${api}`] = { token, expiresAt: expiresAtMs };
      atomicWrite(tokensFile, JSON.stringify(tokens), 0o600);
    },
    cachedToken(account, api, nowMs) {
      const hit = readTokens()[`${account} ${api}`];
      return hit && hit.expiresAt - 300_000 > nowMs ? hit.token : undefined;
    },
  };
}

/** Removes every configuration and credential (tests only). */
export function resetCliConfig(env: NodeJS.ProcessEnv): void {
  rmSync(configDir(env), { recursive: true, force: true });
}
