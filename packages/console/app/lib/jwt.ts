// Reads a JWT's header and claims in the page, for display only: nothing here verifies anything.

export interface DecodedJwt {
  readonly header: Record<string, unknown>;
  readonly claims: Record<string, unknown>;
}

function decodePart(part: string): Record<string, unknown> {
  const base64 = part.replace(/-/g, '+').replace(/_/g, '/');
  const bytes = Uint8Array.from(atob(base64 + '='.repeat((4 - (base64.length % 4)) % 4)), (c) => c.charCodeAt(0));
  const value = JSON.parse(new TextDecoder().decode(bytes)) as unknown;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error('not a JSON object');
  return value as Record<string, unknown>;
}

/** Undefined when the text is not a compact JWT with JSON header and payload. */
export function decodeJwt(token: string): DecodedJwt | undefined {
  const parts = token.trim().split('.');
  if (parts.length !== 3) return undefined;
  try {
    return { header: decodePart(parts[0] as string), claims: decodePart(parts[1] as string) };
  } catch {
    return undefined;
  }
}

export function formatTime(seconds: unknown): string {
  return typeof seconds === 'number' ? new Date(seconds * 1000).toISOString() : '';
}
