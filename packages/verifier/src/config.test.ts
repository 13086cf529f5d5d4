import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseVerifierConfig, toImageEntry } from './config.ts';
import { createImageDatabase } from './image-db.ts';

const image = {
  cmdline: 'console=ttyS0 confidential-space.hardened=true',
  imageReleaseName: 'cs-test',
  isHardened: true,
  swversion: '261100',
  supportAttributes: ['STABLE'],
  secureBootDb: ['a'.repeat(64)],
  bootApplications: { sha256: ['b'.repeat(64)] },
};

describe('verifier configuration: the image database', () => {
  it('takes an image with its command line, Secure Boot db and boot applications', () => {
    const config = parseVerifierConfig({ images: [image] });
    const db = createImageDatabase(config.images.map(toImageEntry));
    assert.deepEqual(db.lookup(image.cmdline)?.bootApplications, { sha256: ['b'.repeat(64)] });
  });

  const refused: ReadonlyArray<[string, Record<string, unknown>]> = [
    ['without a Secure Boot db', { secureBootDb: undefined }],
    ['with an empty Secure Boot db', { secureBootDb: [] }],
    ['with a db fingerprint that is not SHA-256 hex', { secureBootDb: ['AB'.repeat(32)] }],
    ['without boot applications', { bootApplications: undefined }],
    ['with boot applications in no bank', { bootApplications: {} }],
    ['with a SHA-384 digest of the wrong size', { bootApplications: { sha384: ['c'.repeat(64)] } }],
    ['with an unknown bank', { bootApplications: { sm3: ['c'.repeat(64)] } }],
  ];
  for (const [name, change] of refused) {
    it(`refuses an image ${name}: the command line alone is no identity`, () => {
      assert.throws(() => parseVerifierConfig({ images: [{ ...image, ...change }] }), { code: 'ERR_CONFIG' });
    });
  }

  it('refuses a programmatic entry without boot values too', () => {
    assert.throws(() => createImageDatabase([{ ...image, supportAttributes: [], secureBootDb: [] }]), {
      code: 'ERR_CONFIG',
    });
  });
});
