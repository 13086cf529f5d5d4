// Test helpers: a service over either backend (SQL, NATS JetStream), a fake clock and a table-driven authorizer.
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import type { AuditRecord, Authenticator, Authorizer, Caller, FakeClock, SqlDatabase } from '@sealroom/core';
import { CoreError, createFakeClock, createMemoryLogger, openSqliteDatabase, permissionDenied } from '@sealroom/core';
import { createDecisionCache, createServiceAccess } from '@sealroom/iam';
import { test } from 'node:test';
import { createAccessControl } from './access.ts';
import { pubsubProtoDirs } from './grpc.ts';
import { createNatsWakeup } from './nats-wakeup.ts';
import { createPubsub, type PubsubService } from './service.ts';
import type { PubsubStore } from './store.ts';
import { openNatsPubsubStore } from './store-nats.ts';
import { streamName } from './nats-codec.ts';
import { connect as connectNats } from 'nats';
import { openSqlPubsubStore } from './store-sqlite.ts';
import { createWakeup, type Wakeup } from './wakeup.ts';

/** The two message backends every Pub/Sub suite runs on. */
export type TestBackend = 'sql' | 'postgres' | 'nats';
/** The message backends every Pub/Sub suite runs on; `postgres` (the SQL store on PostgreSQL) where a suite asks. */
export const TEST_BACKENDS: readonly TestBackend[] = ['sql', 'nats'];
export const ALL_TEST_BACKENDS: readonly TestBackend[] = ['sql', 'postgres', 'nats'];
/** NATS with JetStream for the tests (CI starts one on the default port). */
export const NATS_TEST_URL = process.env.SEALROOM_TEST_NATS_URL ?? 'nats://127.0.0.1:4222';
/** On NATS, tests run deadlines at this fraction of real time (a 10 s ack deadline lasts 0.5 s). */
export const NATS_TEST_TIME_SCALE = 0.05;

/**
 * Deletes the JetStream streams a server's database maps its topics and subscriptions to, so servers run on a
 * shared NATS (end-to-end tests) leave no streams behind. Returns how many it asked to delete.
 */
export async function dropNatsStreamsOf(db: SqlDatabase, url = NATS_TEST_URL): Promise<number> {
  const rows = await db.all<{ stream: string }>(
    'SELECT stream FROM pubsub_nats_topics UNION SELECT stream FROM pubsub_nats_subscriptions',
  );
  const nc = await connectNats({ servers: url.split(',').map((s) => s.trim().replace(/^nats:\/\//, '')) });
  try {
    const jsm = await nc.jetstreamManager();
    for (const { stream } of rows) await jsm.streams.delete(streamName(stream)).catch(() => false);
  } finally {
    await nc.close();
  }
  return rows.length;
}

/** Why the NATS half is skipped: only when SEALROOM_TEST_NATS=0 says so; an unreachable server fails the tests. */
export function skipReason(backend: TestBackend): string | false {
  if (backend === 'postgres') {
    return process.env.SEALROOM_TEST_POSTGRES === '0'
      ? 'SEALROOM_TEST_POSTGRES=0: the PostgreSQL half of the Pub/Sub suite is skipped'
      : false;
  }
  return backend === 'nats' && process.env.SEALROOM_TEST_NATS === '0'
    ? 'SEALROOM_TEST_NATS=0: the NATS JetStream half of the Pub/Sub suite is skipped'
    : false;
}

/** Closers of the test services opened by the running test (NATS streams are dropped when it ends). */
const openedInTest: (() => Promise<void>)[] = [];

/**
 * Registers `fn` once per backend, named `[sql] …` and `[nats] …`; whatever the test opened with
 * createTestPubsub is closed (and its streams deleted) when it ends. `backends` narrows a test whose
 * subject exists on one backend only.
 */
export function testEachBackend(
  name: string,
  fn: (backend: TestBackend) => Promise<void>,
  backends: readonly TestBackend[] = TEST_BACKENDS,
): void {
  for (const backend of backends) {
    test(`[${backend}] ${name}`, { skip: skipReason(backend) }, async () => {
      try {
        await fn(backend);
      } finally {
        while (openedInTest.length > 0) await openedInTest.pop()?.();
      }
    });
  }
}

export function testCaller(email: string): Caller {
  return { kind: 'user', principal: `user:${email}`, credentialId: `cred-${email}`, expiresAt: Date.UTC(2100, 0, 1) };
}

/** Grants are `principal permission` strings; `principal *` grants everything. */
export function tableAuthorizer(grants: Set<string>): Authorizer {
  const isAllowed = async (caller: Caller | undefined, permission: string) =>
    caller !== undefined && (grants.has(`${caller.principal} ${permission}`) || grants.has(`${caller.principal} *`));
  return {
    isAllowed,
    authorize: async (caller, permission, resource) => {
      if (!(await isAllowed(caller, permission))) throw permissionDenied(permission, resource);
    },
  };
}

export interface TestPubsub {
  readonly backend: TestBackend;
  readonly service: PubsubService;
  readonly store: PubsubStore;
  readonly clock: FakeClock;
  readonly grants: Set<string>;
  readonly audit: AuditRecord[];
  readonly admin: { caller: Caller };
  /** Deletes what the test created in NATS and closes the connection (a no-op on SQL). */
  close(): Promise<void>;
}

export interface TestPubsubOptions {
  readonly backend?: TestBackend;
  /** The SQLite file (metadata on NATS), `:memory:` by default. */
  readonly path?: string;
  /** A fake clock on SQL by default; NATS keeps time on its server, so real time there. */
  readonly clock?: FakeClock;
  /** Keep the streams when closing (a test process that another one continues). */
  readonly keepStreams?: boolean;
  readonly natsUrl?: string;
  /** Deadline scale on NATS; NATS_TEST_TIME_SCALE by default, 1 for benchmarks. */
  readonly timeScale?: number;
  /** The metadata (and, on SQL, message) database instead of a fresh one. */
  readonly db?: SqlDatabase;
}

export async function createTestPubsub(options: TestPubsubOptions = {}): Promise<TestPubsub> {
  const backend = options.backend ?? 'sql';
  let db: SqlDatabase = openSqliteDatabase({ path: options.path ?? ':memory:' });
  let store: PubsubStore;
  let wakeup: Wakeup;
  let close = async () => {};
  if (options.db !== undefined) db = options.db;
  else if (backend === 'postgres') {
    // A fresh database on the test server, dropped when the test ends.
    const { TEST_ENGINES } = await import('@sealroom/postgres/testing');
    const engine = TEST_ENGINES.find((e) => e.name === 'postgres');
    if (!engine) throw new CoreError('ERR_INTERNAL', 'no PostgreSQL test engine');
    const database = await engine.open();
    db = database.db;
    openedInTest.push(() => database.cleanup());
  }
  if (backend === 'nats') {
    const nats = await openNatsPubsubStore({
      url: options.natsUrl ?? NATS_TEST_URL,
      db,
      name: 'sealroom-pubsub-test',
      timeScale: options.timeScale ?? NATS_TEST_TIME_SCALE,
    });
    const natsWakeup = createNatsWakeup(nats.connection, nats.wakeSubject);
    store = nats;
    wakeup = natsWakeup;
    close = async () => {
      natsWakeup.close();
      if (!options.keepStreams) await nats.dropCreatedStreams();
      await nats.close();
    };
    openedInTest.push(close);
  } else {
    store = await openSqlPubsubStore(db);
    wakeup = createWakeup();
  }
  const clock = options.clock ?? (backend === 'nats' ? realClock() : createFakeClock());
  const grants = new Set(['user:admin@example.com *']);
  const audit: AuditRecord[] = [];
  const access = createAccessControl(
    createServiceAccess({
      authorizer: tableAuthorizer(grants),
      audit: { record: async (e) => void audit.push(e) },
      clock,
      decisions: createDecisionCache({ clock }),
    }),
  );
  const service = createPubsub({
    store,
    access,
    clock,
    logger: createMemoryLogger(),
    wakeup,
    pullWaitMs: 20,
  });
  return {
    backend,
    service,
    store,
    clock,
    grants,
    audit,
    admin: { caller: testCaller('admin@example.com') },
    close: async () => {
      const i = openedInTest.indexOf(close);
      if (i >= 0) openedInTest.splice(i, 1);
      await close();
    },
  };
}

export function text(value: string): Uint8Array {
  return new TextEncoder().encode(value);
}

export function decode(bytes: Uint8Array): string {
  return new TextDecoder().decode(bytes);
}

/** A clock that follows real time, for tests over real sockets (advance/set are no-ops). */
export function realClock(): FakeClock {
  return { now: () => Date.now(), set: () => {}, advance: () => {} };
}

/** Bearer tokens `tok-<name>` authenticate as user `<name>@example.com`. */
export const testAuthenticator: Authenticator = {
  authenticate: async (token) => {
    const match = /^tok-([a-z]+)$/.exec(token);
    if (!match) throw new CoreError('ERR_UNAUTHENTICATED', 'Invalid credentials.');
    return testCaller(`${match[1]}@example.com`);
  },
};

/** A raw grpc-js Subscriber client of google.pubsub.v1 (StreamingPull driven by hand), over plaintext. */
export type RawSubscriberClient = grpc.Client & {
  StreamingPull(metadata?: grpc.Metadata): grpc.ClientDuplexStream<Record<string, unknown>, Record<string, unknown>>;
};

export function connectRawSubscriber(port: number): RawSubscriberClient {
  const definition = protoLoader.loadSync('google/pubsub/v1/pubsub.proto', {
    includeDirs: pubsubProtoDirs(),
    keepCase: false,
    longs: String,
    defaults: false,
  });
  const root = grpc.loadPackageDefinition(definition) as unknown as {
    google: {
      pubsub: { v1: { Subscriber: new (address: string, creds: grpc.ChannelCredentials) => RawSubscriberClient } };
    };
  };
  return new root.google.pubsub.v1.Subscriber(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
}
