// Test support for other packages' tests: a swtpm TPM 2.0 simulator per test.
export { SWTPM_AVAILABLE, startSwtpm } from './platform/swtpm-test-support.ts';
export type { Swtpm } from './platform/swtpm-test-support.ts';
export { imitateConfigfsTsm } from './tsm/imitation.ts';
export type { ConfigfsTsmImitation, ConfigfsTsmImitationOptions } from './tsm/imitation.ts';

import type { PlatformCa } from './platform/platform-ca.ts';
import type { SoftBootOptions } from './platform/soft.ts';
import type { SimulatedSnpAuthority } from './sev-snp/simulator.ts';
import { SNP_CERT_GUID, encodeSnpCertTable } from './tsm/cert-table.ts';

/** The certificate table a SEV-SNP host hands out with a report: the authority's VCEK, ASK and ARK. */
export function snpCertTable(authority: SimulatedSnpAuthority): Buffer {
  return encodeSnpCertTable([
    { guid: SNP_CERT_GUID.VCEK, der: authority.vcek },
    { guid: SNP_CERT_GUID.ASK, der: authority.ask },
    { guid: SNP_CERT_GUID.ARK, der: authority.ark },
  ]);
}

/** A soft-platform boot of one production instance (`vm1` of `operator-project`) under `ca`, at `nowMs`. */
export function softBootOptions(ca: PlatformCa, nowMs: number): SoftBootOptions {
  return {
    ca,
    instance: {
      zone: 'us-central1-a',
      projectId: 'operator-project',
      projectNumber: '123456789012',
      instanceName: 'vm1',
      instanceId: '6920867375712861823',
    },
    launcherBuild: `sha256:${'1'.repeat(64)}`,
    imageFamily: 'confidential-space',
    nowMs,
  };
}
