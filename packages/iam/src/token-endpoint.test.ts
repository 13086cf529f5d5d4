import assert from 'node:assert/strict';
import { createPrivateKey, generateKeyPairSync, sign } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { buildRestApp } from '@sealroom/transport';
import { IdTokenClient, JWT } from 'google-auth-library';
import { createLocalJWKSet, jwtVerify, SignJWT } from 'jose';
import { GOOGLE_TOKEN_AUDIENCE } from './jwt-grant.ts';
import { createIamTestContext } from './testing.ts';

/** The server's configured public URL; the tests reach it on another host and port, as behind a proxy. */
const PUBLIC_URL = 'https://sealroom.example';
const b64 = (value: unknown) =>
  Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');

async function setup() {
  const t = await createIamTestContext({ baseUrl: PUBLIC_URL });
  const app = await buildRestApp({
    routes: t.iam.module.routes,
    authenticator: t.context.authenticator,
    logger: t.logger,
  });
  const project = await t.createProject('token-proj', 'owner@example.com');
  const account = await t.deps.serviceAccounts.create(project, 'token-sa', '', '');
  const material = await t.deps.keys.create(account, `${PUBLIC_URL}/token`);
  const key = createPrivateKey(material.keyFile.private_key as string);
  const now = () => Math.floor(Date.now() / 1000);
  const assertion = (claims: Record<string, unknown> = {}, header: Record<string, unknown> = {}) =>
    new SignJWT({ iss: account.email, aud: `${PUBLIC_URL}/token`, iat: now(), exp: now() + 3600, ...claims })
      .setProtectedHeader({ alg: 'RS256', kid: material.keyId, ...header } as never)
      .sign(key);
  const grant = (value: unknown, headers: Record<string, string> = {}) =>
    app.inject({
      method: 'POST',
      url: '/token',
      headers,
      payload: { grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer', assertion: value },
    });
  return { t, app, account, material, key, assertion, grant, now };
}

test('the JWT-bearer grant accepts the configured public URL and Google’s token URI as audiences, never the Host header', async () => {
  const { t, grant, assertion, account } = await setup();
  for (const aud of [`${PUBLIC_URL}/token`, GOOGLE_TOKEN_AUDIENCE]) {
    const res = await grant(await assertion({ aud }), { host: 'attacker.example' });
    assert.equal(res.statusCode, 200, res.body);
    assert.equal(res.headers['cache-control'], 'no-store');
    const caller = await t.context.authenticator.authenticate(res.json().access_token);
    assert.equal(caller.principal, `serviceAccount:${account.email}`);
  }
  // An assertion made for whatever host the request claims to be for is not one made for this server.
  for (const aud of ['http://attacker.example/token', 'http://localhost:80/token', `${PUBLIC_URL}/`, PUBLIC_URL]) {
    const res = await grant(await assertion({ aud }), { host: new URL(aud).host });
    assert.equal(res.statusCode, 400, aud);
    assert.deepEqual(res.json(), { error: 'invalid_grant', error_description: 'Invalid JWT: Failed audience check.' });
  }
  await t.close();
});

test('every malformed or unacceptable assertion is 400 invalid_grant, never a server error, and never echoed', async () => {
  const { t, grant, assertion, now, material } = await setup();
  const { privateKey: stranger } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const { privateKey: ecKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const good = await assertion();
  const [h, p] = good.split('.') as [string, string, string];
  const cases: [string, unknown][] = [
    ['not a JWT', 'not-a-jwt'],
    ['two segments', `${h}.${p}`],
    ['four segments', `${good}.x`],
    ['header not base64url', `!!!.${p}.c2ln`],
    ['header not JSON', `${b64('nope')}.${p}.c2ln`],
    ['payload not JSON', `${h}.${b64('{"iss":')}.c2ln`],
    ['payload a JSON array', `${h}.${b64([1, 2])}.c2ln`],
    ['payload JSON null', `${h}.${b64('null')}.c2ln`],
    ['alg none, no signature', `${b64({ alg: 'none' })}.${p}.`],
    ['alg none with a signature', `${b64({ alg: 'none' })}.${p}.c2ln`],
    ['alg HS256', await new SignJWT({ iss: 'x' }).setProtectedHeader({ alg: 'HS256' }).sign(Buffer.alloc(32, 1))],
    [
      'alg ES256',
      await new SignJWT({ iss: 'token-sa@token-proj.iam.gserviceaccount.com' })
        .setProtectedHeader({ alg: 'ES256', kid: material.keyId })
        .sign(ecKey),
    ],
    ['kid not a string', `${b64({ alg: 'RS256', kid: 7 })}.${p}.c2ln`],
    ['no iss', await assertion({ iss: undefined })],
    ['iss not a string', await assertion({ iss: 42 })],
    ['no aud', await assertion({ aud: undefined })],
    ['aud a number', await assertion({ aud: 5 })],
    ['no iat', await assertion({ iat: undefined })],
    ['no exp', await assertion({ exp: undefined })],
    ['exp a string', await assertion({ exp: 'soon' })],
    ['lives longer than an hour', await assertion({ exp: now() + 7200 })],
    ['expired', await assertion({ iat: now() - 7200, exp: now() - 3700 })],
    ['issued in the future', await assertion({ iat: now() + 600, exp: now() + 1200 })],
    ['sub another account (domain-wide delegation)', await assertion({ sub: 'someone@example.com' })],
    ['target_audience empty', await assertion({ target_audience: '' })],
    ['target_audience not a string', await assertion({ target_audience: ['a'] })],
    ['unknown account', await assertion({ iss: 'ghost@token-proj.iam.gserviceaccount.com' })],
    ['unknown kid', await assertion({}, { kid: 'f'.repeat(40) })],
    [
      'signed by another key',
      await new SignJWT({
        iss: 'token-sa@token-proj.iam.gserviceaccount.com',
        aud: GOOGLE_TOKEN_AUDIENCE,
        iat: now(),
        exp: now() + 60,
      })
        .setProtectedHeader({ alg: 'RS256' })
        .sign(stranger),
    ],
    ['signature tampered', `${h}.${b64({ iss: 'token-sa@token-proj.iam.gserviceaccount.com' })}.${good.split('.')[2]}`],
    ['far too long', `${h}.${'A'.repeat(20_000)}.c2ln`],
    ['empty', ''],
    ['not a string', { assertion: true }],
  ];
  for (const [name, value] of cases) {
    const res = await grant(value);
    assert.equal(res.statusCode, 400, `${name}: ${res.body}`);
    const body = res.json();
    assert.equal(body.error, 'invalid_grant', name);
    assert.equal(typeof body.error_description, 'string', name);
    if (typeof value === 'string' && value.length > 20) {
      assert.equal(res.body.includes(value.split('.')[1] ?? value), false, `${name} is echoed`);
    }
  }
  assert.equal(t.logger.entries.filter((e) => e.level === 'error').length, 0);
  // The endpoint takes no credential: a missing account answers like a bad signature, telling nothing.
  const ghost = await grant(await assertion({ iss: 'ghost@token-proj.iam.gserviceaccount.com' }));
  const forged = await grant(`${h}.${p}.${Buffer.from('not the signature').toString('base64url')}`);
  assert.deepEqual(ghost.json(), forged.json());
  await t.close();
});

test('grant types other than refresh_token and the JWT-bearer grant are unsupported_grant_type', async () => {
  const { t, app } = await setup();
  for (const payload of [{ grant_type: 'password', username: 'a', password: 'b' }, {}]) {
    const res = await app.inject({ method: 'POST', url: '/token', payload });
    assert.equal(res.statusCode, 400);
    assert.equal(res.json().error, 'unsupported_grant_type');
  }
  const malformedForm = await app.inject({
    method: 'POST',
    url: '/token',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    payload: 'grant_type=refresh_token&grant_type=refresh_token',
  });
  assert.equal(malformedForm.statusCode, 400);
  assert.equal(malformedForm.json().error, 'invalid_request');
  await t.close();
});

test('google-auth-library’s JWT client gets an access token, and its IdTokenClient an ID token for the target audience', async () => {
  const { t, app, material, account } = await setup();
  await app.listen({ port: 0, host: '127.0.0.1' });
  const local = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  try {
    // The library posts to its built-in https://oauth2.googleapis.com/token; a DNS override (or this
    // interceptor) sends it to Sealroom, which accepts that audience from every key file.
    const jwt = new JWT({
      email: material.keyFile.client_email as string,
      key: material.keyFile.private_key as string,
      scopes: ['https://www.googleapis.com/auth/cloud-platform'],
    });
    jwt.transporter.interceptors.request.add({
      resolved: async (config) => {
        if (config.url.origin === 'https://oauth2.googleapis.com') {
          config.url = new URL(`${config.url.pathname}${config.url.search}`, local);
        }
        return config;
      },
    });
    const { token } = await jwt.getAccessToken();
    assert.ok(token);
    assert.equal((await t.context.authenticator.authenticate(token)).principal, `serviceAccount:${account.email}`);

    const audience = 'https://run.example/service';
    const client = new IdTokenClient({ targetAudience: audience, idTokenProvider: jwt });
    const headers = await client.getRequestHeaders();
    const idToken = (headers.get('authorization') ?? '').replace(/^Bearer /, '');
    const jwks = (await app.inject({ method: 'GET', url: '/accounts/v3/certs' })).json();
    const { payload } = await jwtVerify(idToken, createLocalJWKSet(jwks), {
      issuer: `${PUBLIC_URL}/accounts`,
      audience,
    });
    assert.equal(payload.sub, account.uniqueId);
    assert.equal(payload.email, account.email);
    assert.equal(payload.email_verified, true);
    const audit = await t.deps.audit.list(account.projectNumber, { pageSize: 50 });
    const methods = audit.map((e) => (e.body.protoPayload as { methodName: string }).methodName);
    assert.ok(methods.includes('google.identity.oauth2.GrantAccessToken'));
    assert.ok(methods.includes('google.identity.oauth2.GrantIdToken'));
  } finally {
    await app.close();
    await t.close();
  }
});

test('google-auth-library’s self-signed JWTs (JWTAccess, with and without scopes) are credentials, with no token exchange', async () => {
  const { t, material, account } = await setup();
  const exchanges: string[] = [];
  const client = (scopes?: string[]) => {
    const jwt = new JWT({
      email: material.keyFile.client_email as string,
      key: material.keyFile.private_key as string,
      keyId: material.keyId,
      ...(scopes ? { scopes } : {}),
    });
    // As Google's client libraries set them (@google-cloud/kms: cloudkms.googleapis.com, the JWT's aud).
    jwt.defaultServicePath = 'cloudkms.googleapis.com';
    jwt.useJWTAccessWithScope = scopes !== undefined;
    jwt.transporter.interceptors.request.add({
      resolved: async (config) => {
        exchanges.push(String(config.url));
        throw new Error('no request is expected: the JWT is made locally');
      },
    });
    return jwt;
  };
  const bearer = async (jwt: JWT) =>
    (
      (await jwt.getRequestHeaders('https://cloudkms.googleapis.com/v1/projects/p/locations/global/keyRings')).get(
        'authorization',
      ) ?? ''
    ).replace(/^Bearer /, '');
  for (const jwt of [client(), client(['https://www.googleapis.com/auth/cloud-platform'])]) {
    const token = await bearer(jwt);
    assert.equal(token.split('.').length, 3);
    const caller = await t.context.authenticator.authenticate(token);
    assert.equal(caller.principal, `serviceAccount:${account.email}`);
    // Sent again (the library keeps it for an hour): the kept verification answers the same.
    assert.equal((await t.context.authenticator.authenticate(await bearer(jwt))).principal, caller.principal);
  }
  assert.deepEqual(exchanges, []);
  await t.close();
});

test('a target_audience assertion answers with an id_token only, signed by the deployment issuer', async () => {
  const { t, app, grant, assertion } = await setup();
  const res = await grant(await assertion({ target_audience: 'https://api.example', aud: GOOGLE_TOKEN_AUDIENCE }));
  assert.equal(res.statusCode, 200, res.body);
  assert.deepEqual(Object.keys(res.json()), ['id_token']);
  const jwks = (await app.inject({ method: 'GET', url: '/accounts/v3/certs' })).json();
  const { protectedHeader } = await jwtVerify(res.json().id_token, createLocalJWKSet(jwks), {
    issuer: `${PUBLIC_URL}/accounts`,
    audience: 'https://api.example',
  });
  assert.equal(protectedHeader.alg, 'RS256');
  // An ID token is not an access token of this server.
  await assert.rejects(t.context.authenticator.authenticate(res.json().id_token));
  await t.close();
});

test('a self-signed JWT is a credential only when made for this deployment, never one made for another party', async () => {
  const { t, key, material, account, now } = await setup();
  const selfSigned = (claims: Record<string, unknown>) =>
    new SignJWT({ iss: account.email, sub: account.email, iat: now(), exp: now() + 600, ...claims })
      .setProtectedHeader({ alg: 'RS256', kid: material.keyId })
      .sign(key);
  const cases: [string, Record<string, unknown>, boolean][] = [
    ['a service URL of the universe, as JWTAccess sets it', { aud: 'https://cloudkms.googleapis.com/' }, true],
    ['the configured public URL', { aud: `${PUBLIC_URL}/` }, true],
    ['no aud, with scope (useJWTAccessWithScope)', { scope: 'https://www.googleapis.com/auth/cloud-platform' }, true],
    ['another relying party', { aud: 'https://relying-party.example/' }, false],
    ['a token-endpoint assertion replayed as a bearer', { aud: GOOGLE_TOKEN_AUDIENCE }, false],
    ['a look-alike host', { aud: 'https://kms.googleapis.com.attacker.example/' }, false],
    ['neither aud nor scope', {}, false],
    ['longer than an hour', { aud: 'https://cloudkms.googleapis.com/', exp: now() + 7200 }, false],
  ];
  for (const [name, claims, accepted] of cases) {
    const outcome = await t.context.authenticator.authenticate(await selfSigned(claims)).then(
      (caller) => caller.principal === `serviceAccount:${account.email}`,
      () => false,
    );
    assert.equal(outcome, accepted, name);
  }
  await t.close();
});

test("a self-signed JWT's signature, header and times are checked as Google checks them", async () => {
  const { t, key, material, account, now } = await setup();
  const aud = 'https://cloudkms.googleapis.com/';
  const other = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
  const signed = (claims: Record<string, unknown>, header: Record<string, unknown> = {}, signer = key) =>
    new SignJWT({ iss: account.email, sub: account.email, aud, iat: now(), exp: now() + 600, ...claims })
      .setProtectedHeader({ alg: 'RS256', kid: material.keyId, ...header } as never)
      .sign(signer);
  const accepts = (token: string) =>
    t.context.authenticator.authenticate(token).then(
      (caller) => caller.principal === `serviceAccount:${account.email}`,
      () => false,
    );
  const good = await signed({});
  const [head, body, signature] = good.split('.') as [string, string, string];
  // jose signs no unknown critical extension: this one is signed by hand.
  const critHeader = Buffer.from(
    JSON.stringify({ alg: 'RS256', kid: material.keyId, crit: ['x-sealroom'], 'x-sealroom': 1 }),
  ).toString('base64url');
  const critical = `${critHeader}.${body}.${sign('sha256', Buffer.from(`${critHeader}.${body}`), key).toString('base64url')}`;
  const flipped = `${signature.slice(0, 10)}${signature[10] === 'A' ? 'B' : 'A'}${signature.slice(11)}`;
  const cases: [string, string, boolean][] = [
    ['as google-auth-library signs it', good, true],
    ['expired, within the minute of skew', await signed({ iat: now() - 600, exp: now() - 30 }), true],
    ['expired for longer than the skew', await signed({ iat: now() - 600, exp: now() - 61 }), false],
    ['issued two minutes from now', await signed({ iat: now() + 120, exp: now() + 600 }), false],
    ['not before two minutes from now', await signed({ nbf: now() + 120 }), false],
    ['exp before iat', await signed({ iat: now(), exp: now() - 10 }), false],
    ['exp not a number', await signed({ exp: String(now() + 600) }), false],
    ['no iat', await signed({ iat: undefined }), false],
    ['sub another account', await signed({ sub: 'other@token-proj.iam.gserviceaccount.com' }), false],
    ['no kid', await signed({}, { kid: undefined }), false],
    ['a critical header extension', critical, false],
    ['signed by another key', await signed({}, {}, other), false],
    ['one signature byte changed', `${head}.${body}.${flipped}`, false],
    ['the signature not base64url', `${head}.${body}.${signature.slice(0, -2)}+/`, false],
    [
      'another payload under the signature',
      `${head}.${Buffer.from('{"iss":"x"}').toString('base64url')}.${signature}`,
      false,
    ],
    ['alg none', `${Buffer.from('{"alg":"none"}').toString('base64url')}.${body}.`, false],
  ];
  for (const [name, token, accepted] of cases) assert.equal(await accepts(token), accepted, name);
  await t.close();
});

test('a self-signed JWT verified once stops at once when its key or account is disabled, and when it expires', async () => {
  let nowMs = Date.now();
  const t = await createIamTestContext({ baseUrl: PUBLIC_URL, clock: { now: () => nowMs } });
  const project = await t.createProject('token-proj', 'owner@example.com');
  const account = await t.deps.serviceAccounts.create(project, 'token-sa', '', '');
  const material = await t.deps.keys.create(account, `${PUBLIC_URL}/token`);
  const seconds = Math.floor(nowMs / 1000);
  const jwt = await new SignJWT({
    iss: account.email,
    sub: account.email,
    aud: 'https://cloudkms.googleapis.com/',
    iat: seconds,
    exp: seconds + 600,
  })
    .setProtectedHeader({ alg: 'RS256', kid: material.keyId })
    .sign(createPrivateKey(material.keyFile.private_key as string));
  const lookups: string[] = [];
  const keys = t.deps.keys;
  const publicKey = keys.publicKey;
  keys.publicKey = async (sa, keyId) => {
    lookups.push(keyId);
    return publicKey.call(keys, sa, keyId);
  };
  const works = () =>
    t.context.authenticator.authenticate(jwt).then(
      (caller) => caller.principal === `serviceAccount:${account.email}`,
      () => false,
    );
  assert.equal(await works(), true);
  assert.equal(await works(), true);
  assert.deepEqual(lookups, [material.keyId], 'verified once, then kept');
  await t.deps.keys.setDisabled(account, material.keyId, true);
  assert.equal(await works(), false, 'the key disabled');
  await t.deps.keys.setDisabled(account, material.keyId, false);
  assert.equal(await works(), true, 'the key enabled again');
  await t.deps.serviceAccounts.setDisabled(account, true);
  assert.equal(await works(), false, 'the account disabled');
  const enabled = await t.deps.serviceAccounts.setDisabled(account, false);
  assert.equal(enabled.disabled, false);
  assert.equal(await works(), true, 'the account enabled again');
  // Kept for 5 s at most, but its exp is read on every use: past a minute of skew, it is refused though kept.
  const late = await new SignJWT({
    iss: account.email,
    sub: account.email,
    aud: 'https://cloudkms.googleapis.com/',
    iat: seconds - 600,
    exp: seconds - 58,
  })
    .setProtectedHeader({ alg: 'RS256', kid: material.keyId })
    .sign(createPrivateKey(material.keyFile.private_key as string));
  const lateWorks = () =>
    t.context.authenticator.authenticate(late).then(
      () => true,
      () => false,
    );
  assert.equal(await lateWorks(), true, 'within the skew');
  const verifiedSoFar = lookups.length;
  nowMs += 1000;
  assert.equal(await lateWorks(), true, 'within the skew, kept');
  assert.equal(lookups.length, verifiedSoFar, 'the kept verification');
  nowMs += 2000;
  assert.equal(await lateWorks(), false, 'expired past the skew');
  assert.equal(lookups.length, verifiedSoFar, 'refused by the kept exp, not by a new lookup');
  await t.close();
});

test('an unknown account, an unknown or disabled key and a bad signature get one answer, after the same lookups and checks', async () => {
  const { t, grant, assertion, account, key, material } = await setup();
  const lookups: string[] = [];
  const keys = t.deps.keys;
  const original = { publicKey: keys.publicKey, publicKeys: keys.publicKeys };
  keys.publicKey = async (sa, keyId) => {
    lookups.push('publicKey');
    return original.publicKey.call(keys, sa, keyId);
  };
  const other = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
  const signedBy = (signer: typeof key, claims: Record<string, unknown>, header: Record<string, unknown> = {}) =>
    new SignJWT({
      iss: account.email,
      aud: `${PUBLIC_URL}/token`,
      iat: Math.floor(Date.now() / 1000),
      exp: Math.floor(Date.now() / 1000) + 600,
      ...claims,
    })
      .setProtectedHeader({ alg: 'RS256', kid: material.keyId, ...header } as never)
      .sign(signer);
  const cases: Record<string, () => Promise<string>> = {
    'bad signature by a real key id': () => signedBy(other, {}),
    'unknown key id': () => signedBy(other, {}, { kid: 'f'.repeat(40) }),
    'unknown account': () => signedBy(other, { iss: 'nobody@token-proj.iam.gserviceaccount.com' }),
    'unknown account, its real-looking key id': () =>
      signedBy(key, { iss: 'nobody@token-proj.iam.gserviceaccount.com' }),
  };
  const answers = new Set<string>();
  for (const [name, make] of Object.entries(cases)) {
    lookups.length = 0;
    const res = await grant(await make());
    assert.equal(res.statusCode, 400, name);
    answers.add(res.body);
    assert.deepEqual(lookups, ['publicKey'], `${name}: one key lookup, as for a real account`);
  }
  // A disabled key answers the same.
  await t.deps.keys.setDisabled(account, material.keyId, true);
  lookups.length = 0;
  answers.add((await grant(await assertion())).body);
  assert.deepEqual(lookups, ['publicKey']);
  assert.deepEqual(
    [...answers],
    [JSON.stringify({ error: 'invalid_grant', error_description: 'Invalid JWT Signature.' })],
  );
  keys.publicKey = original.publicKey;
  await t.close();
});
