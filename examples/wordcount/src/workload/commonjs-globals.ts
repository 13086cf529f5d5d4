// Imported first by the image entry point: bundled CommonJS dependencies (google-gax) read __dirname and
// __filename, which an ES module bundle does not define; they point at the bundle itself.
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const globals = globalThis as { __filename?: string; __dirname?: string };
globals.__filename ??= fileURLToPath(import.meta.url);
globals.__dirname ??= dirname(globals.__filename);
