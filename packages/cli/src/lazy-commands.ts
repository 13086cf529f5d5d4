// Each command group's code, imported only when one of its commands runs (entry.ts). A group file that
// commands/index.ts lists must be here too: the build refuses a command it cannot map to its group.
export const COMMAND_MODULES: Readonly<Record<string, () => Promise<Record<string, unknown>>>> = {
  admin: () => import('./commands/admin.ts'),
  artifacts: () => import('./commands/artifacts.ts'),
  attestation: () => import('./commands/attestation.ts'),
  auth: () => import('./commands/auth.ts'),
  build: () => import('./commands/build.ts'),
  compute: () => import('./commands/compute.ts'),
  config: () => import('./commands/config.ts'),
  host: () => import('./commands/host.ts'),
  iam: () => import('./commands/iam.ts'),
  kms: () => import('./commands/kms.ts'),
  launcher: () => import('./commands/launcher.ts'),
  logging: () => import('./commands/logging.ts'),
  projects: () => import('./commands/projects.ts'),
  pubsub: () => import('./commands/pubsub.ts'),
  secrets: () => import('./commands/secrets.ts'),
  serve: () => import('./commands/serve.ts'),
  transparency: () => import('./commands/transparency.ts'),
  'workload-identity-pools': () => import('./commands/workload-identity-pools.ts'),
};
