// Image references (`HOST[:PORT]/NAME[:TAG][@sha256:…]`) and the OCI distribution name and tag grammar.
import { isDigest, isRepositoryName, isTag } from '@sealroom/formats';
import { RegistryError } from './errors.ts';

export interface ImageReference {
  /** `host[:port]`, e.g. `127.0.0.1:8080`. */
  readonly registry: string;
  /** Repository path inside the registry, e.g. `my-project/repo1/wordcount`. */
  readonly repository: string;
  readonly tag?: string;
  readonly digest?: string;
}

/** Throws ERR_REGISTRY_BAD_REFERENCE for names with `..`, uppercase, empty segments or other path tricks. */
export function assertRepositoryName(name: string): void {
  if (!isRepositoryName(name)) {
    throw new RegistryError('ERR_REGISTRY_BAD_REFERENCE', `Invalid repository name '${name.slice(0, 300)}'.`);
  }
}

/** A tag or a digest, as the `<reference>` of `/v2/<name>/manifests/<reference>`. */
export function assertManifestReference(reference: string): void {
  if (!isTag(reference) && !isDigest(reference)) {
    throw new RegistryError('ERR_REGISTRY_BAD_REFERENCE', `Invalid tag or digest '${reference.slice(0, 140)}'.`);
  }
}

export function parseImageReference(text: string): ImageReference {
  const bad = () => new RegistryError('ERR_REGISTRY_BAD_REFERENCE', `Invalid image reference '${text.slice(0, 300)}'.`);
  let rest = text;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!isDigest(digest)) throw bad();
  }
  const slash = rest.indexOf('/');
  if (slash <= 0) throw bad();
  const registry = rest.slice(0, slash);
  let repository = rest.slice(slash + 1);
  let tag: string | undefined;
  const colon = repository.lastIndexOf(':');
  if (colon >= 0) {
    tag = repository.slice(colon + 1);
    repository = repository.slice(0, colon);
    if (!isTag(tag)) throw bad();
  }
  if (!/^[A-Za-z0-9.-]+(?::[0-9]{1,5})?$/.test(registry) || !isRepositoryName(repository)) throw bad();
  return { registry, repository, ...(tag === undefined ? {} : { tag }), ...(digest === undefined ? {} : { digest }) };
}

export function formatImageReference(ref: ImageReference): string {
  return (
    `${ref.registry}/${ref.repository}` +
    (ref.tag === undefined ? '' : `:${ref.tag}`) +
    (ref.digest === undefined ? '' : `@${ref.digest}`)
  );
}
