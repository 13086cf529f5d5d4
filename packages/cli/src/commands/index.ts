// Every CLI command group; a package adds its commands as one file here and one line below.
import type { CommandSpec } from '../command.ts';
import { adminCommands } from './admin.ts';
import { artifactsCommands } from './artifacts.ts';
import { attestationCommands } from './attestation.ts';
import { authCommands } from './auth.ts';
import { buildCommands } from './build.ts';
import { computeCommands } from './compute.ts';
import { hostCommands } from './host.ts';
import { configCommands } from './config.ts';
import { iamCommands } from './iam.ts';
import { kmsCommands } from './kms.ts';
import { launcherCommands } from './launcher.ts';
import { loggingCommands } from './logging.ts';
import { projectCommands } from './projects.ts';
import { pubsubCommands } from './pubsub.ts';
import { secretsCommands } from './secrets.ts';
import { serveCommands } from './serve.ts';
import { transparencyCommands } from './transparency.ts';
import { workloadIdentityPoolCommands } from './workload-identity-pools.ts';

export const COMMANDS: readonly CommandSpec[] = [
  ...configCommands,
  ...authCommands,
  ...adminCommands,
  ...projectCommands,
  ...iamCommands,
  ...loggingCommands,
  ...serveCommands,
  ...workloadIdentityPoolCommands,
  ...kmsCommands,
  ...secretsCommands,
  ...artifactsCommands,
  ...buildCommands,
  ...pubsubCommands,
  ...computeCommands,
  ...hostCommands,
  ...launcherCommands,
  ...transparencyCommands,
  ...attestationCommands,
];
