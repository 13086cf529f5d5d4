// Imported first by gRPC tests: grpc-js reads GRPC_DEFAULT_SSL_ROOTS_FILE_PATH once, when it is loaded.
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** The folder where the test's deployment CA (`ca.pem`) will be written. */
export const TEST_TLS_DIR = join(tmpdir(), `sealroom-pubsub-grpc-${process.pid}`);
process.env.GRPC_DEFAULT_SSL_ROOTS_FILE_PATH = join(TEST_TLS_DIR, 'ca.pem');
