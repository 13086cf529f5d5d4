// Imported first by the Pub/Sub end-to-end test: grpc-js reads GRPC_DEFAULT_SSL_ROOTS_FILE_PATH when loaded,
// and then the file once; the server writes its deployment CA there before its first TLS listener.
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** The test's folder; the server's state directory is `state/` inside it. */
export const TEST_DIR = join(tmpdir(), `sealroom-e2e-pubsub-${process.pid}`);
process.env.GRPC_DEFAULT_SSL_ROOTS_FILE_PATH = join(TEST_DIR, 'state', 'tls', 'ca.pem');
