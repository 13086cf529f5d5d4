// Token claims of an appraised hardware report: hwmodel, attester_tcb, dbgstat and one submods entry per platform.
import type { VerifiedSnpReport, VerifiedTdxQuote } from '@sealroom/attest';

export type HardwareModel = 'AMD_SEV_SNP' | 'INTEL_TDX' | 'GCP_AMD_SEV' | 'GCP_INTEL_TDX';

/** Added to the token beside the Confidential Space claims; every field is an addition, none replaces one. */
export interface HardwareClaims {
  readonly hwmodel: HardwareModel;
  /** The vendor whose TCB the platform claims rest on: `AMD` or `INTEL` (Confidential Space writes `INTEL` on TDX). */
  readonly attester_tcb: readonly string[];
  readonly dbgstat: 'disabled-since-boot' | 'enabled';
  readonly submods: { readonly sev_snp: Record<string, unknown> } | { readonly tdx: Record<string, unknown> };
}

export interface HardwareClaimOptions {
  /** The report accompanies a GCE-shaped vTPM attestation (the AK bound in report_data): GCP_* hwmodels. */
  readonly withVtpm?: boolean;
}

const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');
const iso = (date: Date | undefined): string | undefined => date?.toISOString();

export function snpClaims(verified: VerifiedSnpReport, options: HardwareClaimOptions = {}): HardwareClaims {
  const { report } = verified;
  const tcb = (t: VerifiedSnpReport['reportedTcb']) => ({
    bootloader: t.bootloader,
    tee: t.tee,
    snp: t.snp,
    microcode: t.microcode,
    ...(t.fmc === undefined ? {} : { fmc: t.fmc }),
  });
  return {
    hwmodel: options.withVtpm === true ? 'GCP_AMD_SEV' : 'AMD_SEV_SNP',
    attester_tcb: ['AMD'],
    dbgstat: report.policy.debug ? 'enabled' : 'disabled-since-boot',
    submods: {
      sev_snp: {
        product: verified.product,
        ...(verified.productName === undefined ? {} : { product_name: verified.productName }),
        report_version: report.version,
        signing_key: verified.signingKey,
        policy: `0x${report.policy.raw.toString(16)}`,
        vmpl: report.vmpl,
        guest_svn: report.guestSvn,
        measurement: hex(report.measurement),
        host_data: hex(report.hostData),
        report_data: hex(report.reportData),
        id_key_digest: hex(report.idKeyDigest),
        reported_tcb: tcb(verified.reportedTcb),
        current_tcb: tcb(verified.currentTcb),
        committed_tcb: tcb(verified.committedTcb),
        launch_tcb: tcb(verified.launchTcb),
        ark_sha256: verified.chain.arkSha256,
        ...(verified.chain.crl === undefined
          ? {}
          : {
              crl_this_update: iso(verified.chain.crl.thisUpdate),
              crl_next_update: iso(verified.chain.crl.nextUpdate),
            }),
      },
    },
  };
}

export function tdxClaims(verified: VerifiedTdxQuote, options: HardwareClaimOptions = {}): HardwareClaims {
  const { body, header } = verified.quote;
  return {
    hwmodel: options.withVtpm === true ? 'GCP_INTEL_TDX' : 'INTEL_TDX',
    attester_tcb: ['INTEL'],
    dbgstat: (body.tdAttributes[0]! & 1) === 1 ? 'enabled' : 'disabled-since-boot',
    submods: {
      tdx: {
        quote_version: header.version,
        body: body.kind,
        mrtd: hex(body.mrTd),
        rtmr0: hex(body.rtmrs[0]),
        rtmr1: hex(body.rtmrs[1]),
        rtmr2: hex(body.rtmrs[2]),
        rtmr3: hex(body.rtmrs[3]),
        mrseam: hex(body.mrSeam),
        td_attributes: hex(body.tdAttributes),
        xfam: hex(body.xfam),
        tee_tcb_svn: hex(body.teeTcbSvn),
        report_data: hex(body.reportData),
        fmspc: hex(verified.pck.fmspc),
        // "Not evaluated" is said outright: a verdict without collateral is not a silent UpToDate.
        attester_tcb_status: verified.tcb?.status ?? 'NotEvaluated',
        ...(verified.tcb === undefined
          ? {}
          : {
              attester_tcb_date: iso(verified.tcb.tcbDate),
              tcb_evaluation_data_number: verified.tcb.tcbEvaluationDataNumber,
              tcb_info_next_update: iso(verified.tcb.tcbInfo.nextUpdate),
              tcb_info_stale: verified.tcb.tcbInfo.stale,
              ...(verified.tcb.module === undefined
                ? {}
                : {
                    tdx_module_id: verified.tcb.module.id,
                    tdx_module_tcb_status: verified.tcb.module.status,
                    tdx_module_tcb_date: iso(verified.tcb.module.tcbDate),
                  }),
            }),
        qe_tcb_status: verified.qe?.status ?? 'NotEvaluated',
        ...(verified.qe === undefined
          ? {}
          : {
              qe_identity_next_update: iso(verified.qe.qeIdentity.nextUpdate),
              qe_identity_stale: verified.qe.qeIdentity.stale,
            }),
        crls: verified.crls.map((c) => ({
          issuer: c.issuer,
          this_update: iso(c.thisUpdate),
          next_update: iso(c.nextUpdate),
        })),
      },
    },
  };
}
