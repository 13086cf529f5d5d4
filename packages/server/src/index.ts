// Public surface of @sealroom/server: configuration, start/stop, and the service list.
export {
  CONFIG_FRAGMENTS,
  configFromFlags,
  resolveServerConfig,
  SERVICE_NAMES,
  ServerConfigSchema,
  serverConfigFragment,
} from './config.ts';
export type { ServerConfig, ServerConfigInput } from './config.ts';
export { createPinoLogger } from './logger.ts';
export type { LogLevel } from './logger.ts';
export { assertPortsFree, describeSubstitution, LISTENERS, portTaken, replaceTakenDefaults } from './ports.ts';
export type { ListenerKey, PortSubstitution } from './ports.ts';
export { BOOTSTRAP_ADMIN, startServer } from './server.ts';
export type { RunningServer, StartOptions } from './server.ts';
export { SERVICES } from './services.ts';
export type { ServiceEntry } from './services.ts';
export { openState } from './state.ts';
