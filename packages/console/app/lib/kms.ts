// A project's KMS keys and their IAM policies, read with the signed-in person's own rights.
import { get, pathOf } from './api.ts';

export interface CryptoKey {
  readonly name: string;
  readonly purpose: string;
  readonly primary?: { readonly name: string; readonly state: string };
}

export interface Binding {
  readonly role: string;
  readonly members: readonly string[];
  readonly condition?: { readonly expression: string; readonly title?: string };
}

export async function listKeys(project: string, location: string): Promise<CryptoKey[]> {
  const rings =
    (await get<{ keyRings?: { name: string }[] }>(`/v1/projects/${project}/locations/${location}/keyRings`)).keyRings ??
    [];
  const keys: CryptoKey[] = [];
  for (const ring of rings) {
    keys.push(...((await get<{ cryptoKeys?: CryptoKey[] }>(`/v1/${pathOf(ring.name)}/cryptoKeys`)).cryptoKeys ?? []));
  }
  return keys;
}

export async function getPolicy(resource: string): Promise<Binding[]> {
  return (await get<{ bindings?: Binding[] }>(`/v1/${pathOf(resource)}:getIamPolicy`)).bindings ?? [];
}
