// Checks an image's cosign signatures and attestations in the page, with WebCrypto: what the builder can
// show anyone, from the registry alone (sealroom verify-image does the same from the command line).
import { ApiError, send } from './api.ts';

const MANIFEST_TYPES = [
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.v2+json',
].join(', ');
const SIGNATURE = 'dev.cosignproject.cosign/signature';
const PUB = 'dev.cosignproject.cosign/pub';
const SIGALG = 'dev.cosignproject.cosign/sigalg';
const MAX_LAYERS = 32;

interface Descriptor {
  readonly digest: string;
  readonly size: number;
  readonly mediaType?: string;
  readonly annotations?: Record<string, string>;
}

export interface SignatureCheck {
  readonly layer: string;
  readonly keyId: string;
  readonly algorithm: string;
  readonly valid: boolean;
  readonly reason?: string;
}

export interface AttestationSummary {
  readonly predicateType: string;
  readonly keyIds: readonly string[];
  readonly verified: boolean;
  readonly subjectMatches: boolean;
  readonly predicate: unknown;
}

export interface ImageEvidence {
  readonly signatures: readonly SignatureCheck[];
  /** Distinct keys whose signatures verify. */
  readonly signedBy: readonly string[];
  readonly attestations: readonly AttestationSummary[];
  readonly config?: { readonly labels: Record<string, string>; readonly created?: string };
}

function hex(bytes: ArrayBuffer): string {
  return [...new Uint8Array(bytes)].map((b) => b.toString(16).padStart(2, '0')).join('');
}

function fromBase64(text: string): Uint8Array<ArrayBuffer> {
  return Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
}

async function manifest(
  repo: string,
  reference: string,
): Promise<{ layers?: Descriptor[]; config?: Descriptor } | undefined> {
  try {
    const response = await send('GET', `/v2/${repo}/manifests/${reference}`, { headers: { accept: MANIFEST_TYPES } });
    return (await response.json()) as { layers?: Descriptor[]; config?: Descriptor };
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) return undefined;
    throw error;
  }
}

/** A blob, refused unless its bytes hash to the digest that named it. */
async function blob(repo: string, digest: string): Promise<Uint8Array<ArrayBuffer>> {
  const bytes = new Uint8Array(await (await send('GET', `/v2/${repo}/blobs/${digest}`)).arrayBuffer());
  if (`sha256:${hex(await crypto.subtle.digest('SHA-256', bytes))}` !== digest)
    throw new Error(`blob ${digest} does not match its digest`);
  return bytes;
}

/** ASN.1 DER ECDSA-Sig-Value → the fixed-width r‖s that WebCrypto verifies. */
function derToRaw(der: Uint8Array, size = 32): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(size * 2);
  let at = 2;
  if (der[0] !== 0x30) throw new Error('not a DER signature');
  if ((der[1] as number) & 0x80) at += (der[1] as number) & 0x7f;
  for (let part = 0; part < 2; part++) {
    if (der[at] !== 0x02) throw new Error('not a DER integer');
    const length = der[at + 1] as number;
    let value = der.subarray(at + 2, at + 2 + length);
    while (value.length > size && value[0] === 0) value = value.subarray(1);
    if (value.length > size) throw new Error('integer too long');
    out.set(value, part * size + size - value.length);
    at += 2 + length;
  }
  return out;
}

const ALGORITHMS: Record<
  string,
  {
    key: RsaHashedImportParams | EcKeyImportParams;
    verify: AlgorithmIdentifier | RsaPssParams | EcdsaParams;
    der?: boolean;
  }
> = {
  ECDSA_P256_SHA256: {
    key: { name: 'ECDSA', namedCurve: 'P-256' },
    verify: { name: 'ECDSA', hash: 'SHA-256' },
    der: true,
  },
  RSASSA_PSS_SHA256: { key: { name: 'RSA-PSS', hash: 'SHA-256' }, verify: { name: 'RSA-PSS', saltLength: 32 } },
  RSASSA_PKCS1V15_SHA256: {
    key: { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' },
    verify: { name: 'RSASSA-PKCS1-v1_5' },
  },
};

/** The key a payload names (base64 of its PEM, as Confidential Space reads it) and its id (SHA-256 of the DER). */
async function keyOf(pubAnnotation: string): Promise<{ der: Uint8Array<ArrayBuffer>; keyId: string }> {
  const pem = new TextDecoder().decode(fromBase64(pubAnnotation));
  const body = pem.replace(/-----(BEGIN|END) PUBLIC KEY-----/g, '').replace(/\s+/g, '');
  const der = fromBase64(body);
  return { der, keyId: hex(await crypto.subtle.digest('SHA-256', der)) };
}

async function verifyWith(
  der: Uint8Array<ArrayBuffer>,
  algorithm: string,
  signature: Uint8Array<ArrayBuffer>,
  data: Uint8Array<ArrayBuffer>,
): Promise<boolean> {
  const spec = ALGORITHMS[algorithm];
  if (!spec) return false;
  const key = await crypto.subtle.importKey('spki', der, spec.key, false, ['verify']);
  return crypto.subtle.verify(spec.verify, key, spec.der ? derToRaw(signature) : signature, data);
}

async function checkSignature(
  repo: string,
  digest: string,
  layer: Descriptor,
): Promise<SignatureCheck & { der?: Uint8Array<ArrayBuffer> }> {
  const base = { layer: layer.digest, keyId: 'unknown', algorithm: 'unknown' };
  try {
    const payload = await blob(repo, layer.digest);
    const json = JSON.parse(new TextDecoder().decode(payload)) as {
      critical?: { image?: { 'docker-manifest-digest'?: string } };
      optional?: Record<string, string> | null;
    };
    const pub = json.optional?.[PUB];
    const algorithm = json.optional?.[SIGALG] ?? 'unknown';
    if (!pub) return { ...base, algorithm, valid: false, reason: 'the payload names no public key' };
    const { der, keyId } = await keyOf(pub);
    if (json.critical?.image?.['docker-manifest-digest'] !== digest)
      return { ...base, keyId, algorithm, valid: false, reason: 'the payload names another image' };
    const signature = fromBase64(layer.annotations?.[SIGNATURE] ?? '');
    const valid = await verifyWith(der, algorithm, signature, payload);
    return { ...base, keyId, algorithm, valid, der, ...(valid ? {} : { reason: 'the signature does not verify' }) };
  } catch (error) {
    return { ...base, valid: false, reason: error instanceof Error ? error.message : 'unreadable' };
  }
}

/** DSSE pre-authentication encoding (secure-systems-lab/dsse protocol.md). */
function pae(type: string, body: Uint8Array): Uint8Array<ArrayBuffer> {
  const encoder = new TextEncoder();
  const typeBytes = encoder.encode(type);
  const head = encoder.encode(`DSSEv1 ${typeBytes.length} ${type} ${body.length} `);
  const out = new Uint8Array(head.length + body.length);
  out.set(head);
  out.set(body, head.length);
  return out;
}

async function checkAttestation(
  repo: string,
  digest: string,
  layer: Descriptor,
  keys: readonly { keyId: string; der: Uint8Array<ArrayBuffer>; algorithm: string }[],
): Promise<AttestationSummary> {
  const envelope = JSON.parse(new TextDecoder().decode(await blob(repo, layer.digest))) as {
    payloadType: string;
    payload: string;
    signatures: { sig: string }[];
  };
  const body = fromBase64(envelope.payload);
  const statement = JSON.parse(new TextDecoder().decode(body)) as {
    predicateType?: string;
    subject?: { digest?: { sha256?: string } }[];
    predicate?: unknown;
  };
  // An attestation counts as the builder's when a key that signed the image also signed it.
  const keyIds: string[] = [];
  for (const signature of envelope.signatures ?? []) {
    for (const key of keys) {
      const ok = await verifyWith(
        key.der,
        key.algorithm,
        fromBase64(signature.sig),
        pae(envelope.payloadType, body),
      ).catch(() => false);
      if (ok && !keyIds.includes(key.keyId)) keyIds.push(key.keyId);
    }
  }
  return {
    predicateType: statement.predicateType ?? layer.annotations?.predicateType ?? 'unknown',
    keyIds,
    verified: keyIds.length > 0,
    subjectMatches: (statement.subject ?? []).some((s) => `sha256:${s.digest?.sha256}` === digest),
    predicate: statement.predicate,
  };
}

/** Everything the registry says about `repo@digest`: config labels, signatures (checked), attestations. */
export async function loadImageEvidence(repo: string, digest: string): Promise<ImageEvidence> {
  const image = await manifest(repo, digest);
  let config: ImageEvidence['config'];
  if (image?.config) {
    const json = JSON.parse(new TextDecoder().decode(await blob(repo, image.config.digest))) as {
      created?: string;
      config?: { Labels?: Record<string, string> };
    };
    config = { labels: json.config?.Labels ?? {}, ...(json.created ? { created: json.created } : {}) };
  }
  const tag = `sha256-${digest.replace(/^sha256:/, '')}`;
  const sig = await manifest(repo, `${tag}.sig`);
  const checks = await Promise.all(
    (sig?.layers ?? []).slice(0, MAX_LAYERS).map((l) => checkSignature(repo, digest, l)),
  );
  const keys = checks.flatMap((c) =>
    c.valid && c.der ? [{ keyId: c.keyId, der: c.der, algorithm: c.algorithm }] : [],
  );
  const att = await manifest(repo, `${tag}.att`);
  const attestations = await Promise.all(
    (att?.layers ?? []).slice(0, MAX_LAYERS).map((l) => checkAttestation(repo, digest, l, keys)),
  );
  return {
    signatures: checks.map(({ der: _der, ...check }) => check),
    signedBy: [...new Set(keys.map((k) => k.keyId))],
    attestations,
    ...(config ? { config } : {}),
  };
}

/** `HOST:PORT/PROJECT/REPO/IMAGE@sha256:…` or `…:TAG` → repository path and reference, when it names this server. */
export function parseImageReference(reference: string): { repo: string; reference: string } | undefined {
  const slash = reference.indexOf('/');
  if (slash < 0 || reference.slice(0, slash) !== location.host) return undefined;
  const rest = reference.slice(slash + 1);
  const at = rest.indexOf('@');
  if (at >= 0) return { repo: rest.slice(0, at), reference: rest.slice(at + 1) };
  const colon = rest.lastIndexOf(':');
  return colon > rest.lastIndexOf('/')
    ? { repo: rest.slice(0, colon), reference: rest.slice(colon + 1) }
    : { repo: rest, reference: 'latest' };
}

/** The labels of an image's config (its launch policy among them), read with the person's own pull rights. */
export async function loadImageLabels(repo: string, reference: string): Promise<Record<string, string> | undefined> {
  const image = await manifest(repo, reference);
  if (!image?.config) return undefined;
  const json = JSON.parse(new TextDecoder().decode(await blob(repo, image.config.digest))) as {
    config?: { Labels?: Record<string, string> };
  };
  return json.config?.Labels ?? {};
}
