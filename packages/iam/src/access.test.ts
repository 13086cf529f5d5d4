// The shared authorize-run-audit path, and its decision cache over the real iam layer.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type AuditRecord, type Authorizer, type Caller, CoreError, createFakeClock } from '@sealroom/core';
import { createServiceAccess, type ServiceAccess } from './access.ts';
import { createAuthorizer } from './authorizer.ts';
import { createDecisionCache, DECISION_TTL_MS, iamChangesOf, signalIamChange } from './decisions.ts';
import { removeBinding } from './policy.ts';
import { createSqlPolicyStore } from './policy-store.ts';
import { createIamTestContext, type IamTestContext } from './testing.ts';

const READ = 'cloudkms.cryptoKeys.get';
const ROLE = 'roles/cloudkms.viewer';

/** The real authorizer, counting how often it is asked (a cache hit asks nothing). */
function counting(inner: Authorizer): Authorizer & { asked: number } {
  const counter = {
    asked: 0,
    isAllowed: async (caller: Caller | undefined, permission: string, resource: string) => {
      counter.asked += 1;
      return inner.isAllowed(caller, permission, resource);
    },
    authorize: inner.authorize,
  };
  return counter;
}

interface Bed {
  readonly t: IamTestContext;
  readonly access: ServiceAccess;
  readonly authorizer: Authorizer & { asked: number };
  readonly audit: AuditRecord[];
  readonly resource: string;
  readonly clock: ReturnType<typeof createFakeClock>;
}

async function setup(options: { cache?: boolean } = {}): Promise<Bed> {
  const clock = createFakeClock(Date.UTC(2026, 0, 1));
  const t = await createIamTestContext({ clock });
  const project = await t.createProject('cache-proj', 'owner@example.com');
  const resource = `projects/${project.projectNumber}/locations/global/keyRings/r/cryptoKeys/k`;
  const authorizer = counting(t.context.authorizer);
  const audit: AuditRecord[] = [];
  const access = createServiceAccess({
    authorizer,
    audit: { record: async (entry) => void audit.push(entry) },
    clock,
    ...(options.cache === false ? {} : { decisions: createDecisionCache({ clock, changes: iamChangesOf(t.deps.db) }) }),
  });
  return { t, access, authorizer, audit, resource, clock };
}

async function userCaller(t: IamTestContext, email: string): Promise<{ caller: Caller; accessToken: string }> {
  return t.createUser(email);
}

async function serviceAccountCaller(t: IamTestContext, accountId: string) {
  const project = await t.deps.projects.get('cache-proj');
  assert.ok(project);
  const account = await t.deps.serviceAccounts.create(project, accountId, '', '');
  const issued = await t.deps.credentials.issueAccessToken({
    kind: 'serviceAccount',
    principal: `serviceAccount:${account.email}`,
    lifetimeMs: 600_000,
  });
  return {
    account,
    accessToken: issued.accessToken,
    caller: await t.context.authenticator.authenticate(issued.accessToken),
  };
}

test('a refusal throws PERMISSION_DENIED naming the resource as shown, and is audited only when asked to be', async () => {
  const b = await setup();
  const { caller } = await userCaller(b.t, 'eve@example.com');
  await assert.rejects(
    b.access.require({ caller, permission: READ, resource: b.resource, shownAs: 'projects/cache-proj/x' }),
    (error: CoreError) => error.code === 'ERR_PERMISSION_DENIED' && error.message.includes("'projects/cache-proj/x'"),
  );
  assert.equal(b.audit.length, 0, 'a check without a denial audit logs nothing');
  assert.equal(
    await b.access.allows({
      caller,
      permission: READ,
      resource: b.resource,
      denial: { project: 'cache-proj', method: 'svc.Get' },
    }),
    false,
  );
  assert.deepEqual(
    b.audit.map((e) => [e.outcome, e.status, e.method, e.resource, e.details]),
    [['DENIED', 'PERMISSION_DENIED', 'svc.Get', b.resource, { permission: READ }]],
  );
  await b.t.close();
});

test('run records ALLOWED with the details the work returns, or FAILED with the error code and no data', async () => {
  const b = await setup();
  const target = { caller: undefined, project: 'cache-proj', method: 'svc.Do', resource: b.resource };
  assert.equal(await b.access.run(target, async () => ({ result: 7, details: { count: 1 } })), 7);
  await assert.rejects(
    b.access.run(target, async () => {
      throw new CoreError('ERR_NOT_FOUND', 'secret-looking message');
    }),
    /secret-looking/,
  );
  await b.access.record(target, { created: true });
  assert.deepEqual(
    b.audit.map((e) => [e.outcome, e.status, e.details]),
    [
      ['ALLOWED', undefined, { count: 1 }],
      ['FAILED', 'ERR_NOT_FOUND', undefined],
      ['ALLOWED', undefined, { created: true }],
    ],
  );
  await b.t.close();
});

test('an allowed decision is reused from the cache; a denial is always asked again', async () => {
  const b = await setup();
  const { caller } = await userCaller(b.t, 'alice@example.com');
  const check = { caller, permission: READ, resource: b.resource };
  assert.equal(await b.access.allows(check), false);
  assert.equal(await b.access.allows(check), false);
  assert.equal(b.authorizer.asked, 2, 'denials are not cached');
  await b.t.grant(b.resource, ROLE, 'user:alice@example.com');
  assert.equal(await b.access.allows(check), true);
  assert.equal(await b.access.allows(check), true);
  assert.equal(b.authorizer.asked, 3, 'the second allow came from the cache');
  b.clock.advance(DECISION_TTL_MS);
  assert.equal(await b.access.allows(check), true);
  assert.equal(b.authorizer.asked, 4, 'an entry as old as the TTL is asked again');
  await b.t.close();
});

test('without a cache every check asks IAM', async () => {
  const b = await setup({ cache: false });
  const { caller } = await userCaller(b.t, 'alice@example.com');
  await b.t.grant(b.resource, ROLE, 'user:alice@example.com');
  const check = { caller, permission: READ, resource: b.resource };
  assert.equal(await b.access.allows(check), true);
  assert.equal(await b.access.allows(check), true);
  assert.equal(b.authorizer.asked, 2);
  await b.t.close();
});

test('a cached allow does not outlive a policy change, even one written through another policy store', async () => {
  const b = await setup();
  const { caller } = await userCaller(b.t, 'alice@example.com');
  const check = { caller, permission: READ, resource: b.resource };
  await b.t.grant(b.resource, ROLE, 'user:alice@example.com');
  assert.equal(await b.access.allows(check), true);
  // The shared setIamPolicy routes open their own store over the database: the change must still reach the cache.
  const other = createSqlPolicyStore(b.t.deps.db);
  await other.update(b.resource, (p) => removeBinding(p, ROLE, 'user:alice@example.com'), b.clock.now());
  assert.equal(await b.access.allows(check), false, 'the revoked grant is refused at once, within the TTL');
  await b.t.close();
});

test('a cached allow does not outlive the removal of the caller from a group the policy grants', async () => {
  const b = await setup();
  const { caller } = await userCaller(b.t, 'carol@example.com');
  await b.t.deps.groups.create('team@example.com', 'Team', '');
  await b.t.deps.groups.addMember('team@example.com', 'user:carol@example.com');
  await b.t.grant(b.resource, ROLE, 'group:team@example.com');
  const check = { caller, permission: READ, resource: b.resource };
  assert.equal(await b.access.allows(check), true);
  await b.t.deps.groups.removeMember('team@example.com', 'user:carol@example.com');
  assert.equal(await b.access.allows(check), false);
  await b.t.close();
});

test('a disabled user or service account: the cached allow is dropped, and the token no longer authenticates', async () => {
  const b = await setup();
  const alice = await userCaller(b.t, 'alice@example.com');
  const robot = await serviceAccountCaller(b.t, 'robot-one');
  await b.t.grant(b.resource, ROLE, 'user:alice@example.com');
  await b.t.grant(b.resource, ROLE, `serviceAccount:${robot.account.email}`);
  for (const who of [alice, robot]) {
    assert.equal(await b.access.allows({ caller: who.caller, permission: READ, resource: b.resource }), true);
  }
  const before = b.authorizer.asked;
  await b.t.deps.credentials.setUserDisabled('alice@example.com', true);
  await b.t.deps.serviceAccounts.setDisabled(robot.account, true);
  // The per-use check: every request authenticates its token again, and a disabled principal's fails.
  for (const who of [alice, robot]) {
    await assert.rejects(b.t.context.authenticator.authenticate(who.accessToken), { code: 'ERR_UNAUTHENTICATED' });
  }
  // A caller object held across the change (a stream) is decided afresh, not from the cache.
  await b.access.allows({ caller: robot.caller, permission: READ, resource: b.resource });
  assert.equal(b.authorizer.asked, before + 1, 'the disable dropped the cached allow');
  await b.t.close();
});

test('a deleted service account: its bindings stop granting at once, cached or not', async () => {
  const b = await setup();
  const robot = await serviceAccountCaller(b.t, 'robot-two');
  await b.t.grant(b.resource, ROLE, `serviceAccount:${robot.account.email}`);
  const check = { caller: robot.caller, permission: READ, resource: b.resource };
  assert.equal(await b.access.allows(check), true);
  await b.t.deps.serviceAccounts.delete(robot.account);
  assert.equal(await b.access.allows(check), false);
  await b.t.close();
});

test('an IAM change while the question is asked voids its answer: a stale allow is never stored', async () => {
  const clock = createFakeClock(Date.UTC(2026, 0, 1));
  const t = await createIamTestContext({ clock });
  let asked = 0;
  let allow = true;
  const racing: Authorizer = {
    isAllowed: async () => {
      asked += 1;
      const answer = allow;
      // The policy is revoked after the authorizer read it, before the answer is returned.
      allow = false;
      signalIamChange(t.deps.db);
      return answer;
    },
    authorize: async () => {},
  };
  const access = createServiceAccess({
    authorizer: racing,
    audit: { record: async () => {} },
    clock,
    decisions: createDecisionCache({ clock, changes: iamChangesOf(t.deps.db) }),
  });
  const { caller } = await t.createUser('alice@example.com');
  const check = { caller, permission: READ, resource: 'projects/p/x' };
  assert.equal(await access.allows(check), true);
  assert.equal(await access.allows(check), false, 'the second check asked again and saw the revocation');
  assert.equal(asked, 2);
  await t.close();
});

test('a cached allow ends with its credential, and separate credentials of one principal are cached apart', async () => {
  const b = await setup();
  await b.t.grant(b.resource, ROLE, 'user:alice@example.com');
  const first = await userCaller(b.t, 'alice@example.com');
  const check = { caller: first.caller, permission: READ, resource: b.resource };
  assert.equal(await b.access.allows(check), true);
  const second = await userCaller(b.t, 'alice@example.com');
  assert.equal(await b.access.allows({ ...check, caller: second.caller }), true);
  assert.equal(b.authorizer.asked, 2, 'another token of the same user is asked for once');
  const expired: Caller = { ...first.caller, expiresAt: b.clock.now() };
  assert.equal(await b.access.allows({ ...check, caller: expired }), false);
  await b.t.close();
});

test('clear() forgets every cached decision, and the cache stays bounded', async () => {
  const clock = createFakeClock(0);
  const cache = createDecisionCache({ clock, maxEntries: 2 });
  const caller: Caller = { kind: 'user', principal: 'user:a@example.com', credentialId: 'c', expiresAt: 1e12 };
  cache.remember(caller, 'p', 'r1', cache.generation());
  cache.remember(caller, 'p', 'r2', cache.generation());
  assert.equal(cache.allows(caller, 'p', 'r1'), true);
  cache.remember(caller, 'p', 'r3', cache.generation());
  assert.equal(cache.allows(caller, 'p', 'r1'), false, 'a full cache starts over');
  assert.equal(cache.allows(caller, 'p', 'r3'), true);
  cache.clear();
  assert.equal(cache.allows(caller, 'p', 'r3'), false);
});

test('an allow granted by a conditional binding is never cached: a condition may read the time', async () => {
  const clock = createFakeClock(Date.UTC(2026, 0, 1));
  const t = await createIamTestContext({ clock });
  const project = await t.createProject('cond-proj', 'owner@example.com');
  const resource = `projects/${project.projectNumber}/locations/global/keyRings/r/cryptoKeys/k`;
  let holds = true;
  let evaluated = 0;
  const authorizer = createAuthorizer({
    policies: t.deps.policies,
    projects: t.deps.projects,
    universe: 'googleapis.com',
    now: () => clock.now(),
    evaluateCondition: () => {
      evaluated += 1;
      return holds;
    },
  });
  const access = createServiceAccess({
    authorizer,
    audit: { record: async () => {} },
    clock,
    decisions: createDecisionCache({ clock, changes: iamChangesOf(t.deps.db) }),
  });
  await t.deps.policies.update(
    resource,
    () => [{ role: ROLE, members: ['user:alice@example.com'], condition: { title: 'until', expression: 'true' } }],
    clock.now(),
  );
  const { caller } = await t.createUser('alice@example.com');
  const check = { caller, permission: READ, resource };
  assert.equal(await access.allows(check), true);
  holds = false;
  assert.equal(await access.allows(check), false, 'the condition was evaluated again, not read from the cache');
  assert.equal(evaluated, 2);
  await t.grant(resource, ROLE, 'user:alice@example.com');
  assert.equal(await access.allows(check), true);
  const before = evaluated;
  assert.equal(await access.allows(check), true, 'an unconditional grant is cached');
  assert.equal(evaluated, before, 'no condition was evaluated for the cached allow');
  await t.close();
});

test('the deployment authorizer reuses unconditional grants until IAM changes, never refusals or conditional grants', async () => {
  const clock = createFakeClock(Date.UTC(2026, 0, 1));
  const t = await createIamTestContext({ clock });
  const project = await t.createProject('authz-proj', 'owner@example.com');
  const canonical = `projects/${project.projectNumber}/locations/global/keyRings/r/cryptoKeys`;
  const store = t.deps.policies;
  let evaluations = 0;
  const authorizer = createAuthorizer({
    policies: {
      ...store,
      getMany: (resources) => {
        evaluations += 1;
        return store.getMany(resources);
      },
    },
    projects: t.deps.projects,
    universe: 'googleapis.com',
    now: () => clock.now(),
    evaluateCondition: () => true,
    decisions: createDecisionCache({ clock, changes: iamChangesOf(t.deps.db) }),
  });
  const { caller } = await userCaller(t, 'ann@example.com');
  const plain = `${canonical}/plain`;
  const conditional = `${canonical}/conditional`;
  const ask = async (resource: string) => {
    const before = evaluations;
    const allowed = await authorizer.isAllowed(caller, READ, resource);
    return { allowed, evaluated: evaluations > before };
  };
  // A refusal is evaluated every time.
  assert.deepEqual(await ask(plain), { allowed: false, evaluated: true });
  assert.deepEqual(await ask(plain), { allowed: false, evaluated: true });
  // An unconditional grant is evaluated once, then reused.
  await t.grant(plain, ROLE, 'user:ann@example.com');
  assert.deepEqual(await ask(plain), { allowed: true, evaluated: true });
  assert.deepEqual(await ask(plain), { allowed: true, evaluated: false });
  assert.deepEqual(await authorizer.decide?.(caller, READ, plain), { allowed: true, reusable: true });
  // Another credential of the same user is asked afresh.
  const other = await userCaller(t, 'ann@example.com');
  const before = evaluations;
  assert.equal(await authorizer.isAllowed(other.caller, READ, plain), true);
  assert.equal(evaluations, before + 1);
  // A conditional grant is evaluated every time (its condition may read the time).
  await store.set(
    conditional,
    {
      version: 3,
      bindings: [
        {
          role: ROLE,
          members: ['user:ann@example.com'],
          condition: { title: 't', expression: 'request.time < timestamp("2030-01-01T00:00:00Z")' },
        },
      ],
    },
    undefined,
    clock.now(),
  );
  assert.deepEqual(await ask(conditional), { allowed: true, evaluated: true });
  assert.deepEqual(await ask(conditional), { allowed: true, evaluated: true });
  // Removing the binding (an IAM change) refuses the next call at once.
  await store.update(plain, (current) => removeBinding(current, ROLE, 'user:ann@example.com'), clock.now());
  assert.deepEqual(await ask(plain), { allowed: false, evaluated: true });
  // And a kept grant lapses with the TTL even without a change.
  await t.grant(plain, ROLE, 'user:ann@example.com');
  assert.deepEqual(await ask(plain), { allowed: true, evaluated: true });
  clock.advance(DECISION_TTL_MS + 1);
  assert.deepEqual(await ask(plain), { allowed: true, evaluated: true });
  await t.close();
});
