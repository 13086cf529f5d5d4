// TDX module identities: a module of major version 1 and up is rated by the TCB info's TDX_<major> identity,
// and its status is held to the deployment's policy like the platform's. The TCB info is signed by a fake
// Intel hierarchy given as a trusted root (Intel's signing key is not at hand).
import assert from 'node:assert/strict';
import { generateKeyPairSync, randomBytes, sign } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { encodeName, issueCertificate } from '@sealroom/formats';
import { AttestError, type AttestErrorCode } from '../errors.ts';
import { vectorPath } from '../test-vectors.ts';
import { evaluateTdxTcb } from './collateral.ts';
import { INTEL_LEAF } from './pck.ts';
import { appraiseTdxQuote, verifyTdxQuote } from './verify.ts';

const AT = new Date('2023-07-01T00:00:00Z');
const verified = verifyTdxQuote(readFileSync(join(vectorPath('tdx', 'spr-e4-v4'), 'tdx_prod_quote_SPR_E4.dat')), {
  at: AT,
});
const { body } = verified.quote;

const root = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const signer = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const rootName = encodeName('Intel SGX Root CA', 'Test Intel');
const validity = { notBefore: new Date('2023-01-01T00:00:00Z'), notAfter: new Date('2030-01-01T00:00:00Z') };
const rootCert = issueCertificate({
  serial: randomBytes(8),
  issuer: rootName,
  subject: rootName,
  subjectPublicKey: root.publicKey,
  signingKey: root.privateKey,
  isCa: true,
  ...validity,
});
const signerCert = issueCertificate({
  serial: randomBytes(8),
  issuer: rootName,
  subject: encodeName(INTEL_LEAF.tcbSigning, 'Test Intel'),
  subjectPublicKey: signer.publicKey,
  signingKey: root.privateKey,
  isCa: false,
  ...validity,
});
const pem = (der: Buffer) => `-----BEGIN CERTIFICATE-----\n${der.toString('base64')}\n-----END CERTIFICATE-----\n`;
const options = { at: AT, trustedRoots: [rootCert] };
const svn16 = (values: number[]) => Array.from({ length: 16 }, (_, i) => ({ svn: values[i] ?? 0 }));

function tcbInfo(moduleIdentities: unknown) {
  const info = JSON.stringify({
    id: 'TDX',
    version: 3,
    issueDate: '2023-06-01T00:00:00Z',
    nextUpdate: '2023-08-01T00:00:00Z',
    fmspc: verified.pck.fmspc.toString('hex'),
    pceId: verified.pck.pceId.toString('hex'),
    tcbType: 0,
    tcbEvaluationDataNumber: 17,
    ...(moduleIdentities === undefined ? {} : { tdxModuleIdentities: moduleIdentities }),
    tcbLevels: [
      {
        // The platform's first two TDX components (99) are the module's: skipped once an identity rates it.
        tcb: { sgxtcbcomponents: svn16([]), pcesvn: 0, tdxtcbcomponents: svn16([99, 99]) },
        tcbDate: '2023-02-15T00:00:00Z',
        tcbStatus: 'UpToDate',
      },
    ],
  });
  const signature = sign('sha256', Buffer.from(info), { key: signer.privateKey, dsaEncoding: 'ieee-p1363' });
  return {
    json: `{"tcbInfo":${info},"signature":"${signature.toString('hex')}"}`,
    issuerChainPem: pem(signerCert) + pem(rootCert),
  };
}

const identities = (mrsigner = body.mrSignerSeam.toString('hex')) => [
  {
    id: 'TDX_01',
    mrsigner,
    attributes: body.seamAttributes.toString('hex'),
    attributesMask: 'ffffffffffffffff',
    tcbLevels: [
      { tcb: { isvsvn: 4 }, tcbDate: '2023-02-15T00:00:00Z', tcbStatus: 'UpToDate' },
      { tcb: { isvsvn: 2 }, tcbDate: '2022-08-01T00:00:00Z', tcbStatus: 'OutOfDate' },
    ],
  },
];

function moduleBody(minor: number) {
  const teeTcbSvn = Buffer.from(body.teeTcbSvn);
  teeTcbSvn[0] = minor;
  teeTcbSvn[1] = 1;
  return { ...body, teeTcbSvn };
}

function refusal(code: AttestErrorCode, run: () => unknown, message?: RegExp): void {
  assert.throws(
    run,
    (e) => e instanceof AttestError && e.code === code && (message === undefined || message.test(e.message)),
  );
}

describe('TDX module identities', () => {
  it('rates a TDX_01 module by its identity and skips the module bytes in the platform levels', () => {
    const evaluation = evaluateTdxTcb(tcbInfo(identities()), verified.pck, moduleBody(5), options);
    assert.equal(evaluation.status, 'UpToDate');
    assert.deepEqual(evaluation.module?.id, 'TDX_01');
    assert.equal(evaluation.module?.status, 'UpToDate');
  });

  it('flags an older module OutOfDate, which the default policy refuses and a lenient one accepts', () => {
    const tcb = evaluateTdxTcb(tcbInfo(identities()), verified.pck, moduleBody(3), options);
    assert.equal(tcb.module?.status, 'OutOfDate');
    const withTcb = { ...verified, quote: { ...verified.quote, body: moduleBody(3) }, tcb };
    refusal('ERR_ATTEST_TDX_TCB_STATUS', () => appraiseTdxQuote(withTcb, {}), /TDX module/);
    appraiseTdxQuote(withTcb, { acceptedTcbStatuses: ['UpToDate', 'OutOfDate'] });
  });

  it('refuses a module below every level, of another signer, or without an identity', () => {
    refusal(
      'ERR_ATTEST_TDX_TCB_UNMATCHED',
      () => evaluateTdxTcb(tcbInfo(identities()), verified.pck, moduleBody(1), options),
      /below every level/,
    );
    refusal(
      'ERR_ATTEST_TDX_TCB_UNMATCHED',
      () => evaluateTdxTcb(tcbInfo(identities('ff'.repeat(48))), verified.pck, moduleBody(5), options),
      /signer/,
    );
    refusal('ERR_ATTEST_TDX_TCB_UNMATCHED', () =>
      evaluateTdxTcb(tcbInfo(undefined), verified.pck, moduleBody(5), options),
    );
  });

  it('keeps rating a major-version-0 module by the platform levels alone', () => {
    refusal(
      'ERR_ATTEST_TDX_TCB_UNMATCHED',
      () => evaluateTdxTcb(tcbInfo(identities()), verified.pck, body, options),
      /no TCB level/,
    );
  });
});
