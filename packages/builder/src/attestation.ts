// in-toto statements for the `.att` tag: SLSA provenance of a build and a CycloneDX SBOM predicate.
import { BuilderError } from './errors.ts';
import type { BuiltImage } from './build.ts';
import type { DockerfileBuildInputs } from './dockerfile/build.ts';
import {
  DSSE_MEDIA_TYPE,
  PREDICATE_TYPE_ANNOTATION,
  SIGNATURE_ANNOTATION,
  type SignatureLayer,
  toSignatureLayer,
} from './cosign-manifest.ts';
import { IN_TOTO_PAYLOAD_TYPE, parseDsseEnvelope, signDsse, verifyDsse } from './dsse.ts';
import { buildCycloneDxSbom, CYCLONEDX_PREDICATE_TYPE } from './sbom.ts';
import type { TrustedKey } from './sign.ts';
import type { Signer } from './signer.ts';

/** cosign's legacy `.att` statements use in-toto Statement v0.1 (`pkg/cosign/attestation`). */
export const IN_TOTO_STATEMENT_TYPE = 'https://in-toto.io/Statement/v0.1';
export const SLSA_PROVENANCE_V1 = 'https://slsa.dev/provenance/v1';
export const SEALROOM_BUILD_TYPE = 'https://sealroom.dev/build/node-workload/v1';
export const SEALROOM_DOCKERFILE_BUILD_TYPE = 'https://sealroom.dev/build/dockerfile/v1';
export const SEALROOM_BUILDER_ID = 'https://sealroom.dev/builder/sealroom-build/v1';

export interface InTotoStatement {
  readonly _type: string;
  readonly predicateType: string;
  readonly subject: readonly { readonly name: string; readonly digest: Readonly<Record<string, string>> }[];
  readonly predicate: unknown;
}

export function buildStatement(
  repository: string,
  imageDigest: string,
  predicateType: string,
  predicate: unknown,
): InTotoStatement {
  return {
    _type: IN_TOTO_STATEMENT_TYPE,
    predicateType,
    subject: [{ name: repository, digest: { sha256: imageDigest.replace(/^sha256:/, '') } }],
    predicate,
  };
}

/** SLSA v1 provenance: source digest, build parameters, resolved runtime and npm inputs, the builder. */
export function buildProvenancePredicate(image: BuiltImage) {
  const i = image.inputs;
  const byproducts = image.layers.map((l) => ({
    name: 'layer',
    digest: { sha256: l.digest.replace(/^sha256:/, '') },
    mediaType: l.mediaType,
  }));
  if (i.kind === 'dockerfile') return buildDockerfileProvenance(image, i, byproducts);
  return {
    buildDefinition: {
      buildType: SEALROOM_BUILD_TYPE,
      externalParameters: { source: { digest: { sha256: i.sourceDigest.replace(/^sha256:/, '') } }, app: i.app },
      internalParameters: { bundler: i.bundler, compressor: i.compressor, created: image.config.created },
      resolvedDependencies: [
        ...Object.entries(i.runtime).map(([name, value]) => ({ name, uri: value })),
        ...i.components.map((c) => ({
          uri: c.purl,
          ...(c.sha512 === undefined ? {} : { digest: { sha512: c.sha512 } }),
        })),
      ],
    },
    runDetails: { builder: { id: SEALROOM_BUILDER_ID }, byproducts },
  };
}

/**
 * A Dockerfile build: the context and Dockerfile digests, build args and target as external parameters;
 * each base image (FROM / COPY --from, with its line) pinned by digest as a resolved dependency; the
 * engine and its version, isolation and network as internal parameters.
 */
function buildDockerfileProvenance(image: BuiltImage, i: DockerfileBuildInputs, byproducts: readonly object[]) {
  const hex = (digest: string) => digest.replace(/^sha256:/, '');
  return {
    buildDefinition: {
      buildType: SEALROOM_DOCKERFILE_BUILD_TYPE,
      externalParameters: {
        source: { digest: { sha256: hex(i.sourceDigest) } },
        dockerfile: { path: i.dockerfile.path, digest: { sha256: hex(i.dockerfile.digest) } },
        buildArgs: i.buildArgs,
        ...(i.target === undefined ? {} : { target: i.target }),
      },
      internalParameters: {
        engine: `${i.engine.name}@${i.engine.version}`,
        isolation: i.engine.isolation,
        network: i.engine.network,
        storageDriver: i.engine.storageDriver,
        compressor: i.compressor,
        sourceDateEpoch: i.sourceDateEpoch,
        created: image.config.created,
      },
      resolvedDependencies: i.bases.map((b) => ({
        name: `Dockerfile:${b.line} ${b.instruction} ${b.raw}`,
        uri: `oci://${b.name}@${b.digest}`,
        digest: { sha256: hex(b.digest) },
        ...(b.indexDigest === undefined ? {} : { annotations: { index: b.indexDigest } }),
      })),
    },
    runDetails: { builder: { id: SEALROOM_BUILDER_ID }, byproducts },
  };
}

export function buildSbomPredicate(image: BuiltImage) {
  const kind = image.inputs.kind === 'dockerfile' ? 'container' : 'application';
  return buildCycloneDxSbom(image.inputs.app, image.inputs.components, kind);
}

/** One `.att` layer: the DSSE envelope as the blob, empty signature annotation, `predicateType` annotation. */
export async function attestImage(options: {
  readonly repository: string;
  readonly imageDigest: string;
  readonly predicateType: string;
  readonly predicate: unknown;
  readonly signers: readonly Signer[];
}): Promise<SignatureLayer> {
  const statement = buildStatement(options.repository, options.imageDigest, options.predicateType, options.predicate);
  const envelope = await signDsse(IN_TOTO_PAYLOAD_TYPE, Buffer.from(JSON.stringify(statement)), options.signers);
  return toSignatureLayer(Buffer.from(JSON.stringify(envelope)), DSSE_MEDIA_TYPE, {
    [SIGNATURE_ANNOTATION]: '',
    [PREDICATE_TYPE_ANNOTATION]: options.predicateType,
  });
}

export const PREDICATE_TYPES = { provenance: SLSA_PROVENANCE_V1, cyclonedx: CYCLONEDX_PREDICATE_TYPE } as const;

/** Verifies an `.att` layer: trusted DSSE signature, in-toto statement, and a subject equal to the image digest. */
export function verifyAttestation(
  envelopeBytes: Uint8Array,
  imageDigest: string,
  keys: readonly TrustedKey[],
): { statement: InTotoStatement; keyIds: string[] } {
  const envelope = parseDsseEnvelope(envelopeBytes);
  if (envelope.payloadType !== IN_TOTO_PAYLOAD_TYPE) {
    throw new BuilderError(
      'ERR_BUILDER_BAD_ENVELOPE',
      `unexpected DSSE payloadType '${envelope.payloadType.slice(0, 80)}'`,
    );
  }
  const { body, keyIds } = verifyDsse(envelope, keys);
  let statement: InTotoStatement;
  try {
    statement = JSON.parse(body.toString('utf8')) as InTotoStatement;
  } catch (cause) {
    throw new BuilderError('ERR_BUILDER_BAD_ENVELOPE', 'in-toto statement is not JSON', { cause });
  }
  const hex = imageDigest.replace(/^sha256:/, '');
  if (!Array.isArray(statement.subject) || !statement.subject.some((s) => s?.digest?.sha256 === hex)) {
    throw new BuilderError('ERR_BUILDER_DIGEST_MISMATCH', 'no in-toto subject names the image digest');
  }
  return { statement, keyIds };
}
