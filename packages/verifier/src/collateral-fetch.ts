// `collateral fetch`: AMD KDS and Intel PCS collateral downloaded through the outbound client, from an allow-list
// of the vendors' hosts only, and put in the content-addressed store exactly as `collateral import` would.
import { X509Certificate } from 'node:crypto';
import {
  type SnpProduct,
  decodeSnpTcb,
  parseSnpReport,
  productOfCpuid,
  readPckExtensions,
  splitPemCertificates,
} from '@sealroom/attest';
import type { OutboundClient } from '@sealroom/outbound';
import { type ImportedCollateral, importCollateral } from './collateral-store.ts';
import { VerifierError } from './errors.ts';

/** AMD's Key Distribution Service (AMD "VCEK/VLEK Certificate Specification"). */
export const AMD_KDS_URL = 'https://kdsintf.amd.com';
/** Intel's Provisioning Certification Service v4, and the host that serves the SGX root CA's CRL. */
export const INTEL_PCS_URL = 'https://api.trustedservices.intel.com';
export const INTEL_CERTIFICATES_URL = 'https://certificates.trustedservices.intel.com';
/** The only hosts collateral is fetched from, unless a caller names others (a test's local server). */
export const COLLATERAL_HOSTS = [
  'kdsintf.amd.com',
  'api.trustedservices.intel.com',
  'certificates.trustedservices.intel.com',
];
const MAX_COLLATERAL_BYTES = 1024 * 1024;

export interface CollateralFetchOptions {
  readonly client: OutboundClient;
  /** The collateral store to fill. */
  readonly dir: string;
  readonly amdUrl?: string;
  readonly intelUrl?: string;
  readonly intelCertificatesUrl?: string;
  /** Hosts requests may go to; the vendors' by default. */
  readonly allowedHosts?: readonly string[];
  /** AMD root fingerprints vouched for beyond the pinned Milan ARK (see `importCollateral`). */
  readonly arkSha256?: readonly string[];
}

export interface SnpFetchRequest {
  /** A report of the machine: its chip ID and reported TCB name the VCEK (not needed for a VLEK chain). */
  readonly report?: Uint8Array;
  /** The product, when no report says it. */
  readonly product?: SnpProduct;
}

export interface TdxFetchRequest {
  /** A quote of the machine: its PCK certificate names the FMSPC. */
  readonly quote?: Uint8Array;
  readonly fmspc?: string;
}

function fetchError(message: string, cause?: unknown): never {
  throw new VerifierError('ERR_VERIFIER_COLLATERAL_FETCH', message, cause === undefined ? {} : { cause });
}

async function download(
  options: CollateralFetchOptions,
  url: string,
  issuerChainHeader?: string,
): Promise<{ name: string; bytes: Buffer }[]> {
  const target = new URL(url);
  if (!(options.allowedHosts ?? COLLATERAL_HOSTS).includes(target.hostname)) {
    fetchError(`${target.hostname} is not a collateral host Sealroom fetches from.`);
  }
  let response: Awaited<ReturnType<OutboundClient['get']>>;
  try {
    response = await options.client.get(target, { maxBodyBytes: MAX_COLLATERAL_BYTES });
  } catch (cause) {
    return fetchError(`Cannot reach ${target.origin}.`, cause);
  }
  if (response.status !== 200) fetchError(`${target.origin}${target.pathname} answered ${response.status}.`);
  const name = target.pathname.split('/').filter(Boolean).at(-1) ?? 'collateral';
  const files = [{ name, bytes: response.body }];
  if (issuerChainHeader !== undefined) {
    const chain = response.headers.get(issuerChainHeader);
    if (chain === null) fetchError(`${target.origin} sent no ${issuerChainHeader} header.`);
    let pem: string;
    try {
      pem = decodeURIComponent(chain);
    } catch (cause) {
      return fetchError(`The ${issuerChainHeader} header is not URL-encoded PEM.`, cause);
    }
    files.push({ name: `${name}-issuer-chain.pem`, bytes: Buffer.from(pem) });
  }
  return files;
}

/**
 * The FMSPC of the PCK certificate a quote carries. Only read, not verified: it names what to fetch, and the
 * appraisal that uses the collateral verifies the quote and its chain.
 */
function fmspcOfQuote(quote: Uint8Array): string {
  const [leaf] = splitPemCertificates(Buffer.from(quote).toString('latin1'));
  if (leaf === undefined) fetchError('The quote carries no PCK certificate.');
  try {
    return readPckExtensions(new X509Certificate(leaf)).fmspc.toString('hex');
  } catch (cause) {
    return fetchError('The PCK certificate of the quote has no readable FMSPC.', cause);
  }
}

/**
 * AMD collateral for one product: the ASK/ARK and ASVK/ARK chains, the ARK's CRL, and with a report the
 * chip's VCEK for its reported TCB. Everything is classified before anything is stored.
 */
export async function fetchSnpCollateral(
  options: CollateralFetchOptions,
  request: SnpFetchRequest,
): Promise<ImportedCollateral[]> {
  const report = request.report === undefined ? undefined : parseSnpReport(request.report);
  const cpuid = report?.cpuid;
  const product = request.product ?? (cpuid === undefined ? undefined : productOfCpuid(cpuid.family, cpuid.model));
  if (product === undefined) fetchError('Name the product (--product) or give a version 3 report.');
  const kds = (options.amdUrl ?? AMD_KDS_URL).replace(/\/$/, '');
  const files = [
    ...(await download(options, `${kds}/vcek/v1/${product}/cert_chain`)),
    ...(await download(options, `${kds}/vlek/v1/${product}/cert_chain`)),
    ...(await download(options, `${kds}/vcek/v1/${product}/crl`)),
  ];
  if (report !== undefined && report.signingKey === 'VCEK') {
    const tcb = decodeSnpTcb(report.reportedTcbRaw, product);
    // Turin's hwID is the first 8 bytes of chip_id; the others use all 64.
    const hwid = report.chipId.subarray(0, product === 'Turin' ? 8 : 64).toString('hex');
    const query = new URLSearchParams({
      blSPL: String(tcb.bootloader),
      teeSPL: String(tcb.tee),
      snpSPL: String(tcb.snp),
      ucodeSPL: String(tcb.microcode),
      ...(tcb.fmc === undefined ? {} : { fmcSPL: String(tcb.fmc) }),
    });
    files.push(...(await download(options, `${kds}/vcek/v1/${product}/${hwid}?${query}`)));
  }
  return importCollateral(options.dir, files, options.arkSha256 === undefined ? {} : { arkSha256: options.arkSha256 });
}

/**
 * Intel collateral for one platform: TDX TCB info for its FMSPC, the TD_QE identity, the PCK platform CA's CRL
 * (each with the issuer chain Intel sends as a header) and the root CA's CRL.
 */
export async function fetchTdxCollateral(
  options: CollateralFetchOptions,
  request: TdxFetchRequest,
): Promise<ImportedCollateral[]> {
  const fmspc = request.fmspc ?? (request.quote === undefined ? undefined : fmspcOfQuote(request.quote));
  if (fmspc === undefined || !/^[0-9a-fA-F]{12}$/.test(fmspc))
    fetchError('Give a quote (--quote) or a 6-byte --fmspc.');
  const pcs = (options.intelUrl ?? INTEL_PCS_URL).replace(/\/$/, '');
  const certs = (options.intelCertificatesUrl ?? INTEL_CERTIFICATES_URL).replace(/\/$/, '');
  const files = [
    ...(await download(
      options,
      `${pcs}/tdx/certification/v4/tcb?fmspc=${fmspc.toLowerCase()}`,
      'TCB-Info-Issuer-Chain',
    )),
    ...(await download(options, `${pcs}/tdx/certification/v4/qe/identity`, 'SGX-Enclave-Identity-Issuer-Chain')),
    ...(await download(
      options,
      `${pcs}/sgx/certification/v4/pckcrl?ca=platform&encoding=der`,
      'SGX-PCK-CRL-Issuer-Chain',
    )),
    ...(await download(options, `${certs}/IntelSGXRootCA.der`)),
  ];
  return importCollateral(options.dir, files);
}
