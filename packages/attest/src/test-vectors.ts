// Test-only loader of the shared GCE TPM vectors (read from the shared folder at run time, never copied).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { resolveSharedDir } from '@sealroom/core';
import type { TpmQuote } from './tpm/quote.ts';

export interface GceVector {
  readonly dir: string;
  readonly nonce: Buffer;
  readonly akPub: Buffer;
  readonly quotes: TpmQuote[];
  readonly eventLog: Buffer;
  readonly akCert: Buffer;
  readonly root: Buffer;
  readonly intermediate: Buffer;
  // biome-ignore lint/suspicious/noExplicitAny: the vector's expected.json, read as data
  readonly expected: any;
}

interface RawQuote {
  hashAlgo: number;
  pcrs: Record<string, string>;
  quote: string;
  rawSig: string;
}

export function vectorPath(...parts: string[]): string {
  return join(resolveSharedDir(), 'vectors', ...parts);
}

export function loadGceVector(): GceVector {
  const dir = vectorPath('tpm', 'gce-cos-85-nonce9009');
  const json = JSON.parse(readFileSync(join(dir, 'attestation.json'), 'utf8'));
  return {
    dir,
    nonce: Buffer.from(json.nonce, 'hex'),
    akPub: Buffer.from(json.akPub, 'base64'),
    quotes: (json.quotes as RawQuote[]).map((q) => ({
      hashAlgo: q.hashAlgo,
      pcrValues: new Map(Object.entries(q.pcrs).map(([k, v]) => [Number(k), Buffer.from(v, 'hex')])),
      rawQuote: Buffer.from(q.quote, 'base64'),
      rawSignature: Buffer.from(q.rawSig, 'base64'),
    })),
    eventLog: Buffer.from(json.eventLog, 'base64'),
    akCert: Buffer.from(json.akCert, 'base64'),
    root: readFileSync(join(dir, 'ca', 'tpm_ek_root_1.cer')),
    intermediate: readFileSync(join(dir, 'ca', 'tpm_ek_intermediate_2.crt')),
    expected: JSON.parse(readFileSync(join(dir, 'expected.json'), 'utf8')),
  };
}
