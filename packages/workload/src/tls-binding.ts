// Binds a custom attestation token to one TLS session: the nonce comes from its exporter keying material (RFC 5705).
import type { TLSSocket } from 'node:tls';

/** The exporter label both ends of `/connect` use; a different label gives an unrelated nonce. */
export const TLS_BINDING_LABEL = 'EXPORTER-sealroom-attestation-binding';
const BINDING_BYTES = 32;

/** A base64 nonce (44 bytes, within the teeserver's 8–88) that only this TLS session yields. */
export function tlsBindingNonce(socket: TLSSocket): string {
  return socket.exportKeyingMaterial(BINDING_BYTES, TLS_BINDING_LABEL, Buffer.alloc(0)).toString('base64');
}
