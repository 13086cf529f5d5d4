// The image's EXPOSEd ports: `N/tcp`, `N/udp`, or `N` for both (as Confidential Space documents a port without
// a protocol).

export type PortProtocol = 'tcp' | 'udp';

export interface ExposedPort {
  readonly port: number;
  readonly protocol: PortProtocol;
}

const TCP = 6;
const UDP = 17;

/** `ExposedPorts` keys → ports; a key that is not `N`, `N/tcp` or `N/udp` is skipped (sctp is not published). */
export function parseExposedPorts(keys: readonly string[]): ExposedPort[] {
  const out = new Map<string, ExposedPort>();
  for (const key of keys) {
    const match = /^(\d{1,5})(?:\/(tcp|udp))?$/i.exec(key.trim());
    if (!match) continue;
    const port = Number(match[1]);
    if (port < 1 || port > 65_535) continue;
    const protocols: PortProtocol[] = match[2] ? [match[2].toLowerCase() as PortProtocol] : ['tcp', 'udp'];
    for (const protocol of protocols) out.set(`${port}/${protocol}`, { port, protocol });
  }
  return [...out.values()].sort((a, b) => a.port - b.port || (a.protocol < b.protocol ? -1 : 1));
}

export function protocolNumber(protocol: PortProtocol): number {
  return protocol === 'tcp' ? TCP : UDP;
}

export function isExposed(exposed: readonly ExposedPort[], protocol: number, port: number | undefined): boolean {
  return port !== undefined && exposed.some((e) => e.port === port && protocolNumber(e.protocol) === protocol);
}
