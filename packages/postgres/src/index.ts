// Public surface of @sealroom/postgres: every service's state in PostgreSQL, behind core's SqlDatabase.
export { DEFAULT_MAX_CONNECTIONS, openPostgresDatabase } from './database.ts';
export type { PostgresOptions } from './database.ts';
export { MISSED_CHANGES } from './notifications.ts';
export { redactDatabaseUrl } from './url.ts';
