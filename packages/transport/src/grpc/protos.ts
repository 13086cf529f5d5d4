// Finds the .proto files that ship inside npm packages (google-gax's common protos), without copying them.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

/**
 * The `build/protos` folder of google-gax (google/iam, google/api, google/rpc, google/protobuf, …), as
 * resolved from `fromPackage` (a package that depends on gax, e.g. `@google-cloud/kms`); undefined when
 * neither is installed.
 */
export function findGaxProtoDir(fromPackage = '@google-cloud/kms'): string | undefined {
  const require = createRequire(import.meta.url);
  try {
    const from = dirname(require.resolve(`${fromPackage}/package.json`));
    let root = dirname(require.resolve('google-gax', { paths: [from] }));
    while (!existsSync(join(root, 'build', 'protos')) && dirname(root) !== root) root = dirname(root);
    const dir = join(root, 'build', 'protos');
    return existsSync(join(dir, 'google', 'iam', 'v1', 'iam_policy.proto')) ? dir : undefined;
  } catch {
    return undefined;
  }
}
