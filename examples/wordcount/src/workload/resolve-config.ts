// The workload's configuration inside an instance: the short form on the platform's defaults, else the full one.
import { readPlatformEndpoints } from '@sealroom/workload';
import { GoogleAuth } from 'google-auth-library';
import { COLLABORATORS_ENV, CONFIG_ENV, type WordcountConfig, loadWordcountConfig } from '../config.ts';
import { buildPlatformConfig, parseCollaboratorsValue } from '../platform-config.ts';

/**
 * `WORDCOUNT_CONFIG` when given; else `WORDCOUNT_COLLABORATORS` with the platform's endpoints and the instance's
 * project from its metadata server; else the configuration file.
 */
export async function resolveWordcountConfig(env: NodeJS.ProcessEnv = process.env): Promise<WordcountConfig> {
  const short = env[COLLABORATORS_ENV];
  if (env[CONFIG_ENV] || !short) return loadWordcountConfig(env);
  const endpoints = readPlatformEndpoints();
  return buildPlatformConfig({
    ...parseCollaboratorsValue(short),
    operatorProject: await new GoogleAuth().getProjectId(),
    api: endpoints.rest,
    universeDomain: endpoints.universeDomain,
  });
}
