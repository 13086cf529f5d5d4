// Test doubles: a KMS stand-in holding one AES key per key name, and delivered messages that record ack/nack.
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import type { KeyWrapper } from '@sealroom/workload';
import type { WireMessage } from './contribution.ts';
import type { CollaboratorKeys, DeliveredMessage } from './processor.ts';

export interface FakeKms {
  wrapperFor(keyName: string): KeyWrapper;
  readonly calls: { wrap: number; unwrap: number };
}

export function createFakeKms(): FakeKms {
  const keks = new Map<string, Buffer>();
  const calls = { wrap: 0, unwrap: 0 };
  const kekOf = (name: string) => {
    let kek = keks.get(name);
    if (!kek) keks.set(name, (kek = randomBytes(32)));
    return kek;
  };
  return {
    calls,
    wrapperFor: (keyName) => ({
      async wrap(plain, aad) {
        calls.wrap += 1;
        const iv = randomBytes(12);
        const cipher = createCipheriv('aes-256-gcm', kekOf(keyName), iv);
        cipher.setAAD(aad ?? Buffer.alloc(0));
        return Buffer.concat([iv, cipher.update(plain), cipher.final(), cipher.getAuthTag()]);
      },
      async unwrap(wrapped, aad) {
        calls.unwrap += 1;
        const c = Buffer.from(wrapped);
        const decipher = createDecipheriv('aes-256-gcm', kekOf(keyName), c.subarray(0, 12));
        decipher.setAAD(aad ?? Buffer.alloc(0));
        decipher.setAuthTag(c.subarray(c.length - 16));
        return Buffer.concat([decipher.update(c.subarray(12, c.length - 16)), decipher.final()]);
      },
    }),
  };
}

export interface RecordedMessage extends DeliveredMessage {
  state: 'pending' | 'acked' | 'nacked';
}

let nextId = 1;
export function deliver(wire: WireMessage, id = String(nextId++)): RecordedMessage {
  const message: RecordedMessage = {
    id,
    attributes: wire.attributes,
    data: wire.data,
    state: 'pending',
    ack: () => {
      message.state = 'acked';
    },
    nack: () => {
      message.state = 'nacked';
    },
  };
  return message;
}

export { keysFor } from './collaborator-keys.ts';
export type { CollaboratorKeys };
