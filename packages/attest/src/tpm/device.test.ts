// The TPM command layer against hostile responses: whatever a TPM (or whatever answers on its socket) sends,
// each command returns or fails with ERR_ATTEST_TPM_DEVICE; response codes and retries are handled.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { AttestError } from '../errors.ts';
import { ByteWriter } from './bytes.ts';
import { TPM_ALG } from './constants.ts';
import { TPM_RH, TpmDevice } from './device.ts';
import type { TpmTransport } from './device.ts';

/** A transport that answers each command with the next response of `responses` and records the commands. */
function scripted(responses: readonly Uint8Array[]): { transport: TpmTransport; commands: Buffer[] } {
  const commands: Buffer[] = [];
  let next = 0;
  return {
    commands,
    transport: {
      send: async (command) => {
        commands.push(Buffer.from(command));
        const response = responses[Math.min(next++, responses.length - 1)];
        return Buffer.from(response ?? new Uint8Array(0));
      },
      close: async () => {},
    },
  };
}

/** A response with a correct header around `body`. */
function response(rc: number, body: Uint8Array = new Uint8Array(0), sessions = false): Buffer {
  return new ByteWriter()
    .u16(sessions ? 0x8002 : 0x8001)
    .u32(10 + body.length)
    .u32(rc)
    .bytes(body)
    .finish();
}

const COMMANDS: ReadonlyArray<[string, (tpm: TpmDevice) => Promise<unknown>]> = [
  ['Startup', (tpm) => tpm.startup()],
  ['GetCapability', (tpm) => tpm.pcrBanks()],
  ['PCR_Read', (tpm) => tpm.pcrRead(TPM_ALG.SHA256, [0, 1, 13])],
  ['PCR_Extend', (tpm) => tpm.pcrExtend(13, new Map([[TPM_ALG.SHA256, Buffer.alloc(32)]]))],
  ['CreatePrimary', (tpm) => tpm.createPrimary(TPM_RH.ENDORSEMENT, Buffer.alloc(8))],
  ['Quote', (tpm) => tpm.quote(0x80000000, Buffer.alloc(32), { hashAlg: TPM_ALG.SHA256, pcrs: [0], sizeOfSelect: 3 })],
  ['NV_Read', (tpm) => tpm.nvRead(0x01c10002)],
  ['FlushContext', (tpm) => tpm.flush(0x80000000)],
];

/** Success headers over arbitrary bodies (the parsers' side), and arbitrary bytes (the framing's). */
const hostile = fc.oneof(
  fc.uint8Array({ maxLength: 300 }),
  fc.tuple(fc.boolean(), fc.uint8Array({ maxLength: 300 })).map(([sessions, body]) => response(0, body, sessions)),
);

describe('TPM responses', () => {
  for (const [name, run] of COMMANDS) {
    it(`${name}: any response gives a result or ERR_ATTEST_TPM_DEVICE`, async () => {
      await fc.assert(
        fc.asyncProperty(fc.array(hostile, { minLength: 1, maxLength: 3 }), async (responses) => {
          const tpm = new TpmDevice(scripted(responses).transport);
          try {
            await run(tpm);
          } catch (error) {
            assert.ok(error instanceof AttestError, `untyped error: ${String(error)}`);
            assert.equal(error.code, 'ERR_ATTEST_TPM_DEVICE');
          }
        }),
        { numRuns: 150 },
      );
    });
  }

  it('an error response code is named in the error, never retried unless the TPM asks', async () => {
    const { transport, commands } = scripted([response(0x98e)]);
    await assert.rejects(
      new TpmDevice(transport).flush(1),
      (e: unknown) => e instanceof AttestError && e.code === 'ERR_ATTEST_TPM_DEVICE' && /0x98e/.test(e.message),
    );
    assert.equal(commands.length, 1);
  });

  it('TPM_RC_RETRY is tried again, a bounded number of times', async () => {
    const ok = scripted([response(0x922), response(0x922), response(0)]);
    await new TpmDevice(ok.transport).flush(1);
    assert.equal(ok.commands.length, 3);
    const stuck = scripted([response(0x922)]);
    await assert.rejects(new TpmDevice(stuck.transport).flush(1), /0x922/);
    assert.equal(stuck.commands.length, 10);
  });

  it('an NV index that does not exist reads as absent; Startup on a started TPM is fine', async () => {
    assert.equal(await new TpmDevice(scripted([response(0x18b)]).transport).nvRead(0x01c10002), undefined);
    await new TpmDevice(scripted([response(0x100)]).transport).startup();
  });

  it('a response whose size field lies is refused', async () => {
    const lying = response(0, Buffer.alloc(4));
    lying.writeUInt32BE(100, 2);
    await assert.rejects(
      new TpmDevice(scripted([lying]).transport).flush(1),
      (e: unknown) => e instanceof AttestError && e.code === 'ERR_ATTEST_TPM_DEVICE',
    );
  });
});
