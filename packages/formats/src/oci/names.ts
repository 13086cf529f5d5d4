// The OCI distribution grammar of repository names and tags (distribution-spec §Pulling manifests).

/** `<name>` path components of lowercase alphanumerics and separators, joined by `/`. */
const NAME_PATTERN = /^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*)*$/;
const TAG_PATTERN = /^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$/;
const NAME_MAX_LENGTH = 255;

export function isRepositoryName(name: string): boolean {
  return name.length <= NAME_MAX_LENGTH && NAME_PATTERN.test(name);
}

/** A tag, which is also what an image layout's `org.opencontainers.image.ref.name` may be. */
export function isTag(tag: string): boolean {
  return TAG_PATTERN.test(tag);
}
