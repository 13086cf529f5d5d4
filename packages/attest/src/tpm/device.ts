// A real TPM 2.0 spoken to in the TCG command wire format (TPM 2.0 Part 3), through the kernel resource
// manager (`/dev/tpmrm0`) or a simulator's command socket (swtpm `--server type=tcp|unixio`). Only the
// commands an attesting launcher needs: Startup, GetCapability(PCRS), PCR_Read, PCR_Extend, CreatePrimary,
// Quote, FlushContext, NV_ReadPublic, NV_Read, and for AK enrolment StartAuthSession, PolicySecret and
// ActivateCredential.
import { randomBytes } from 'node:crypto';
import { open } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { connect } from 'node:net';
import type { Socket } from 'node:net';
import { AttestError } from '../errors.ts';
import { ByteReader, ByteWriter } from './bytes.ts';
import { TPM_ALG, hashInfo } from './constants.ts';
import { readPcrSelectionList, writePcrSelectionList } from './pcr-selection.ts';
import type { PcrSelection } from './pcr-selection.ts';

/** TPM_ST (Part 2 §6.9). */
const ST_NO_SESSIONS = 0x8001;
const ST_SESSIONS = 0x8002;
/** TPM_CC (Part 2 §6.5). */
export const TPM_CC = {
  ACTIVATE_CREDENTIAL: 0x147,
  SHUTDOWN: 0x145,
  POLICY_SECRET: 0x151,
  START_AUTH_SESSION: 0x176,
  NV_READ: 0x14e,
  STARTUP: 0x144,
  CREATE_PRIMARY: 0x131,
  QUOTE: 0x158,
  FLUSH_CONTEXT: 0x165,
  NV_READ_PUBLIC: 0x169,
  GET_CAPABILITY: 0x17a,
  PCR_READ: 0x17e,
  PCR_EXTEND: 0x182,
  CREATE: 0x153,
  LOAD: 0x157,
  UNSEAL: 0x15e,
} as const;
/** TPM_RH (Part 2 §7.4). */
export const TPM_RH = { OWNER: 0x40000001, NULL: 0x40000007, ENDORSEMENT: 0x4000000b } as const;
const SE_POLICY = 0x01;
/** nonceCaller of a session: at least 16 bytes (Part 3 §11.1). */
const SESSION_NONCE_BYTES = 16;
const RS_PW = 0x40000009;
const CAP_PCRS = 5;
const RC_SUCCESS = 0;
const RC_INITIALIZE = 0x100;
/** TPM_RC_YIELDED, TPM_RC_TESTING, TPM_RC_RETRY (Part 2 §6.6.3): warnings that ask for the same command again. */
const RC_TRY_AGAIN: readonly number[] = [0x908, 0x90a, 0x922];
const MAX_ATTEMPTS = 10;
const RETRY_DELAY_MS = 10;
/** The largest response any command here gets (TPM_MAX_COMMAND_SIZE of common TPMs is 4096). */
const MAX_RESPONSE_BYTES = 8192;
const COMMAND_TIMEOUT_MS = 60_000;
/** NV_Read chunk: TPM2B_MAX_NV_BUFFER holds at least 512 bytes on every TPM (MAX_NV_BUFFER_SIZE). */
const NV_CHUNK = 512;
const MAX_NV_BYTES = 16 * 1024;

/** Sends one marshalled command and returns the whole response; one command at a time. */
export interface TpmTransport {
  send(command: Uint8Array): Promise<Buffer>;
  close(): Promise<void>;
}

/** A TPM response code that is not success; `rc` as the TPM sent it. */
export function tpmFailure(command: string, rc: number): AttestError {
  return new AttestError(
    'ERR_ATTEST_TPM_DEVICE',
    `TPM2_${command} failed with response code 0x${rc.toString(16).padStart(3, '0')}.`,
  );
}

/** Whether `rc` is TPM_RC_HANDLE of a format-one code (the object or NV index does not exist). */
function isHandleError(rc: number): boolean {
  return (rc & 0x80) !== 0 && (rc & 0x3f) === 0x0b;
}

function frame(tag: number, cc: number, body: Uint8Array): Buffer {
  return new ByteWriter()
    .u16(tag)
    .u32(10 + body.length)
    .u32(cc)
    .bytes(body)
    .finish();
}

/** The password session with an empty password (TPMS_AUTH_COMMAND), as an authorization area. */
function passwordAuth(count = 1): Buffer {
  const one = new ByteWriter().u32(RS_PW).sized(new Uint8Array(0)).u8(0).sized(new Uint8Array(0)).finish();
  const all = Buffer.concat(Array.from({ length: count }, () => one));
  return new ByteWriter().u32(all.length).bytes(all).finish();
}

/** A policy session's authorization: no nonce, no HMAC (its policy holds no PolicyAuthValue or PolicyPassword). */
function policyAuth(session: number): Buffer {
  return new ByteWriter().u32(session).sized(new Uint8Array(0)).u8(0).sized(new Uint8Array(0)).finish();
}

/** A response's code, and a reader over what follows its header (after handles it is the caller's). */
function openResponse(command: string, response: Buffer): { rc: number; reader: ByteReader; sessions: boolean } {
  const reader = new ByteReader(response, 'ERR_ATTEST_TPM_DEVICE', `TPM2_${command} response`);
  const tag = reader.u16();
  const size = reader.u32();
  const rc = reader.u32();
  if (size !== response.length) reader.fail(`size ${size} is not the ${response.length} bytes received`);
  if (tag !== ST_NO_SESSIONS && tag !== ST_SESSIONS) reader.fail(`tag 0x${tag.toString(16)}`);
  return { rc, reader, sessions: tag === ST_SESSIONS };
}

/** The parameter area of a response with sessions: parameterSize, then that many bytes. */
function parameters(reader: ByteReader, sessions: boolean): ByteReader {
  if (!sessions) return reader;
  const size = reader.u32();
  return new ByteReader(reader.take(size), reader.code, reader.what);
}

/** The TPM's allocated banks, with how many PCRs each has. */
export interface TpmBank {
  readonly alg: number;
  readonly pcrCount: number;
}

/** A created key: its transient handle and TPMT_PUBLIC. */
export interface TpmKey {
  readonly handle: number;
  readonly publicArea: Buffer;
}

/** TPM 2.0 commands over a transport; every failure is ERR_ATTEST_TPM_DEVICE naming the command. */
export class TpmDevice {
  readonly #transport: TpmTransport;
  #queue: Promise<unknown> = Promise.resolve();

  constructor(transport: TpmTransport) {
    this.#transport = transport;
  }

  /** Runs a command after the previous one finished: the TPM takes one command at a time. */
  #run(
    command: string,
    tag: number,
    cc: number,
    body: Uint8Array,
  ): Promise<{ rc: number; reader: ByteReader; sessions: boolean }> {
    const next = this.#queue.then(async () => openResponse(command, await this.#transport.send(frame(tag, cc, body))));
    this.#queue = next.catch(() => undefined);
    return next;
  }

  /** Runs a command to success; TPM_RC_RETRY, TPM_RC_YIELDED and TPM_RC_TESTING are tried again, a bounded number of times. */
  async #ok(command: string, tag: number, cc: number, body: Uint8Array) {
    for (let attempt = 1; ; attempt++) {
      const response = await this.#run(command, tag, cc, body);
      if (response.rc === RC_SUCCESS) return response;
      if (!RC_TRY_AGAIN.includes(response.rc) || attempt >= MAX_ATTEMPTS) throw tpmFailure(command, response.rc);
      await new Promise((resolve) => setTimeout(resolve, RETRY_DELAY_MS * attempt));
    }
  }

  /** TPM2_Startup(CLEAR); a TPM already started (TPM_RC_INITIALIZE) is fine. */
  async startup(): Promise<void> {
    const { rc } = await this.#run('Startup', ST_NO_SESSIONS, TPM_CC.STARTUP, new ByteWriter().u16(0).finish());
    if (rc !== RC_SUCCESS && rc !== RC_INITIALIZE) throw tpmFailure('Startup', rc);
  }

  /** TPM2_GetCapability(TPM_CAP_PCRS): the banks with at least one PCR allocated. */
  async pcrBanks(): Promise<TpmBank[]> {
    const body = new ByteWriter().u32(CAP_PCRS).u32(0).u32(1).finish();
    const { reader } = await this.#ok('GetCapability', ST_NO_SESSIONS, TPM_CC.GET_CAPABILITY, body);
    reader.u8();
    if (reader.u32() !== CAP_PCRS) reader.fail('capability is not TPM_CAP_PCRS');
    const selections = readPcrSelectionList(reader);
    return selections
      .filter((s) => s.pcrs.length > 0)
      .map((s) => ({ alg: s.hashAlg, pcrCount: Math.max(...s.pcrs) + 1 }));
  }

  /** TPM2_PCR_Read of PCRs `pcrs` of one bank, in as many calls as the TPM needs (8 digests per call). */
  async pcrRead(alg: number, pcrs: readonly number[], sizeOfSelect = 3): Promise<Map<number, Buffer>> {
    const out = new Map<number, Buffer>();
    const size = hashInfo(alg).size;
    for (let round = 0; out.size < pcrs.length; round++) {
      if (round > pcrs.length) throw new AttestError('ERR_ATTEST_TPM_DEVICE', 'TPM2_PCR_Read returned no PCR.');
      const wanted = pcrs.filter((p) => !out.has(p));
      const writer = new ByteWriter();
      writePcrSelectionList(writer, [{ hashAlg: alg, pcrs: wanted, sizeOfSelect }]);
      const { reader } = await this.#ok('PCR_Read', ST_NO_SESSIONS, TPM_CC.PCR_READ, writer.finish());
      reader.u32();
      const selected = readPcrSelectionList(reader);
      const count = reader.u32();
      const got = selected.find((s) => s.hashAlg === alg)?.pcrs ?? [];
      if (selected.length !== 1 || got.length !== count) reader.fail('digests do not match the selection');
      if (count === 0) throw new AttestError('ERR_ATTEST_TPM_DEVICE', `TPM2_PCR_Read: the TPM has no such PCR.`);
      for (const pcr of got) {
        const value = reader.sized(64);
        if (value.length !== size || !wanted.includes(pcr)) reader.fail('unexpected PCR value');
        out.set(pcr, Buffer.from(value));
      }
    }
    return out;
  }

  /** TPM2_PCR_Extend of one PCR in every bank given (TPML_DIGEST_VALUES). */
  async pcrExtend(pcr: number, digests: ReadonlyMap<number, Uint8Array>): Promise<void> {
    const writer = new ByteWriter().u32(pcr).bytes(passwordAuth()).u32(digests.size);
    for (const [alg, value] of digests) {
      if (value.length !== hashInfo(alg).size) throw new AttestError('ERR_ATTEST_ENCODE', 'Digest of the wrong size.');
      writer.u16(alg).bytes(value);
    }
    await this.#ok('PCR_Extend', ST_SESSIONS, TPM_CC.PCR_EXTEND, writer.finish());
  }

  /** TPM2_CreatePrimary in `hierarchy` from a TPMT_PUBLIC template (empty auth and sensitive data). */
  async createPrimary(hierarchy: number, template: Uint8Array): Promise<TpmKey> {
    const body = new ByteWriter()
      .u32(hierarchy)
      .bytes(passwordAuth())
      .sized(new ByteWriter().sized(new Uint8Array(0)).sized(new Uint8Array(0)).finish())
      .sized(template)
      .sized(new Uint8Array(0))
      .u32(0)
      .finish();
    const { reader, sessions } = await this.#ok('CreatePrimary', ST_SESSIONS, TPM_CC.CREATE_PRIMARY, body);
    const handle = reader.u32();
    const publicArea = Buffer.from(parameters(reader, sessions).sized());
    return { handle, publicArea };
  }

  /**
   * TPM2_Create under `parent` of an object from a TPMT_PUBLIC template, with `data` as its sensitive data
   * (a sealed data object when the template is a KEYEDHASH without sign or decrypt); empty auth. Returns the
   * TPM2B_PRIVATE (encrypted by the parent) and TPM2B_PUBLIC bodies, to be kept and loaded again later.
   */
  async create(parent: number, template: Uint8Array, data: Uint8Array): Promise<{ private: Buffer; public: Buffer }> {
    const body = new ByteWriter()
      .u32(parent)
      .bytes(passwordAuth())
      .sized(new ByteWriter().sized(new Uint8Array(0)).sized(data).finish())
      .sized(template)
      .sized(new Uint8Array(0))
      .u32(0)
      .finish();
    const { reader, sessions } = await this.#ok('Create', ST_SESSIONS, TPM_CC.CREATE, body);
    const params = parameters(reader, sessions);
    const outPrivate = Buffer.from(params.sized());
    const outPublic = Buffer.from(params.sized());
    return { private: outPrivate, public: outPublic };
  }

  /** TPM2_Load under `parent` of what `create` returned; the object's transient handle. */
  async load(parent: number, privateArea: Uint8Array, publicArea: Uint8Array): Promise<number> {
    const body = new ByteWriter().u32(parent).bytes(passwordAuth()).sized(privateArea).sized(publicArea).finish();
    const { reader } = await this.#ok('Load', ST_SESSIONS, TPM_CC.LOAD, body);
    return reader.u32();
  }

  /** TPM2_Unseal of a loaded sealed data object (empty auth): its sensitive data. */
  async unseal(handle: number): Promise<Buffer> {
    const body = new ByteWriter().u32(handle).bytes(passwordAuth()).finish();
    const { reader, sessions } = await this.#ok('Unseal', ST_SESSIONS, TPM_CC.UNSEAL, body);
    return Buffer.from(parameters(reader, sessions).sized());
  }

  /** TPM2_Quote of `selection` with `qualifyingData`, signed with the key's own scheme. */
  async quote(
    key: number,
    qualifyingData: Uint8Array,
    selection: PcrSelection,
  ): Promise<{ rawQuote: Buffer; rawSignature: Buffer }> {
    const writer = new ByteWriter().u32(key).bytes(passwordAuth()).sized(qualifyingData).u16(0x0010);
    writePcrSelectionList(writer, [selection]);
    const { reader, sessions } = await this.#ok('Quote', ST_SESSIONS, TPM_CC.QUOTE, writer.finish());
    const params = parameters(reader, sessions);
    const rawQuote = Buffer.from(params.sized());
    const rawSignature = Buffer.from(params.take(params.remaining));
    return { rawQuote, rawSignature };
  }

  /**
   * TPM2_Shutdown(CLEAR): an orderly shutdown before a simulator is power-cycled. Without it the TPM counts the
   * restart as non-orderly and, the AK's authorization having been used, raises its dictionary-attack counter
   * (TPM 2.0 Part 1 §19.8.6), until repeated resets lock the AK out.
   */
  async shutdown(): Promise<void> {
    await this.#ok('Shutdown', ST_NO_SESSIONS, TPM_CC.SHUTDOWN, new ByteWriter().u16(0).finish());
  }

  /** TPM2_StartAuthSession: an unbound, unsalted policy session with SHA-256. */
  async startPolicySession(): Promise<number> {
    const body = new ByteWriter()
      .u32(TPM_RH.NULL)
      .u32(TPM_RH.NULL)
      .sized(randomBytes(SESSION_NONCE_BYTES))
      .sized(new Uint8Array(0))
      .u8(SE_POLICY)
      .u16(TPM_ALG.NULL)
      .u16(TPM_ALG.SHA256)
      .finish();
    const { reader } = await this.#ok('StartAuthSession', ST_NO_SESSIONS, TPM_CC.START_AUTH_SESSION, body);
    return reader.u32();
  }

  /** TPM2_PolicySecret with the endorsement hierarchy's (empty) password: the EK's default policy. */
  async policySecretEndorsement(session: number): Promise<void> {
    const body = new ByteWriter()
      .u32(TPM_RH.ENDORSEMENT)
      .u32(session)
      .bytes(passwordAuth())
      .sized(new Uint8Array(0))
      .sized(new Uint8Array(0))
      .sized(new Uint8Array(0))
      .u32(0)
      .finish();
    await this.#ok('PolicySecret', ST_SESSIONS, TPM_CC.POLICY_SECRET, body);
  }

  /**
   * TPM2_ActivateCredential: the AK (password) and the EK (a policy session that satisfied its policy) recover
   * the credential MakeCredential wrapped for them. The policy session ends with the command.
   */
  async activateCredential(
    ak: number,
    ek: number,
    ekSession: number,
    credentialBlob: Uint8Array,
    secret: Uint8Array,
  ): Promise<Buffer> {
    const auth = Buffer.concat([passwordAuth().subarray(4), policyAuth(ekSession)]);
    const body = new ByteWriter()
      .u32(ak)
      .u32(ek)
      .u32(auth.length)
      .bytes(auth)
      .sized(credentialBlob)
      .sized(secret)
      .finish();
    const { reader, sessions } = await this.#ok('ActivateCredential', ST_SESSIONS, TPM_CC.ACTIVATE_CREDENTIAL, body);
    return Buffer.from(parameters(reader, sessions).sized());
  }

  /** TPM2_FlushContext of a transient object. */
  async flush(handle: number): Promise<void> {
    await this.#ok('FlushContext', ST_NO_SESSIONS, TPM_CC.FLUSH_CONTEXT, new ByteWriter().u32(handle).finish());
  }

  /** The contents of NV index `index` read with owner authorization, or undefined when the index does not exist. */
  async nvRead(index: number): Promise<Buffer | undefined> {
    const pub = await this.#run(
      'NV_ReadPublic',
      ST_NO_SESSIONS,
      TPM_CC.NV_READ_PUBLIC,
      new ByteWriter().u32(index).finish(),
    );
    if (isHandleError(pub.rc)) return undefined;
    if (pub.rc !== RC_SUCCESS) throw tpmFailure('NV_ReadPublic', pub.rc);
    const nvPublic = new ByteReader(pub.reader.sized(), pub.reader.code, pub.reader.what);
    nvPublic.u32();
    nvPublic.u16();
    nvPublic.u32();
    nvPublic.sized(64);
    const dataSize = nvPublic.u16();
    if (dataSize > MAX_NV_BYTES) nvPublic.fail(`NV index of ${dataSize} bytes`);
    const chunks: Buffer[] = [];
    for (let offset = 0; offset < dataSize; offset += NV_CHUNK) {
      const size = Math.min(NV_CHUNK, dataSize - offset);
      const body = new ByteWriter().u32(TPM_RH.OWNER).u32(index).bytes(passwordAuth()).u16(size).u16(offset).finish();
      const { reader, sessions } = await this.#ok('NV_Read', ST_SESSIONS, TPM_CC.NV_READ, body);
      const data = parameters(reader, sessions).sized();
      if (data.length !== size) reader.fail('short NV read');
      chunks.push(Buffer.from(data));
    }
    return Buffer.concat(chunks);
  }

  close(): Promise<void> {
    return this.#transport.close();
  }
}

/** The length a response says it has, once its 10-byte header is in. */
function responseLength(buffer: Buffer): number | undefined {
  return buffer.length >= 10 ? buffer.readUInt32BE(2) : undefined;
}

/** A TPM reached over a stream socket that carries raw TPM commands (swtpm's server port, TCP or UNIX). */
export async function connectTpmSocket(
  target: { readonly host: string; readonly port: number } | { readonly path: string },
): Promise<TpmTransport> {
  const socket: Socket = await new Promise((resolve, reject) => {
    const s = 'path' in target ? connect(target.path) : connect(target.port, target.host);
    s.once('connect', () => {
      s.off('error', reject);
      resolve(s);
    });
    s.once('error', (error) =>
      reject(new AttestError('ERR_ATTEST_TPM_DEVICE', 'The TPM socket does not accept connections.', { cause: error })),
    );
  });
  let buffered = Buffer.alloc(0);
  let pending: { resolve: (b: Buffer) => void; reject: (e: Error) => void } | undefined;
  let failure: Error | undefined;
  const fail = (error: Error): void => {
    failure ??= error;
    pending?.reject(failure);
    pending = undefined;
  };
  socket.on('data', (chunk: Buffer) => {
    buffered = Buffer.concat([buffered, chunk]);
    const length = responseLength(buffered);
    if (length === undefined || pending === undefined) return;
    if (length < 10 || length > MAX_RESPONSE_BYTES) {
      fail(new AttestError('ERR_ATTEST_TPM_DEVICE', `The TPM sent a response of ${length} bytes.`));
      socket.destroy();
      return;
    }
    if (buffered.length < length) return;
    const response = buffered.subarray(0, length);
    buffered = buffered.subarray(length);
    const done = pending;
    pending = undefined;
    done.resolve(Buffer.from(response));
  });
  socket.on('error', (error) =>
    fail(new AttestError('ERR_ATTEST_TPM_DEVICE', 'The TPM socket failed.', { cause: error })),
  );
  socket.on('close', () => fail(new AttestError('ERR_ATTEST_TPM_DEVICE', 'The TPM closed its socket.')));
  return {
    send: (command) =>
      new Promise((resolve, reject) => {
        if (failure !== undefined) {
          reject(failure);
          return;
        }
        const timer = setTimeout(() => {
          fail(new AttestError('ERR_ATTEST_TPM_DEVICE', 'The TPM did not answer in time.'));
          socket.destroy();
        }, COMMAND_TIMEOUT_MS);
        pending = {
          resolve: (b) => {
            clearTimeout(timer);
            resolve(b);
          },
          reject: (e) => {
            clearTimeout(timer);
            reject(e);
          },
        };
        socket.write(command);
      }),
    close: async () => {
      if (socket.destroyed) return;
      await new Promise<void>((resolve) => {
        socket.once('close', () => resolve());
        socket.end();
      });
    },
  };
}

/** A TPM character device (`/dev/tpmrm0`): each write is one command, the next read its whole response. */
export async function openTpmDevice(path: string): Promise<TpmTransport> {
  let handle: FileHandle;
  try {
    handle = await open(path, 'r+');
  } catch (error) {
    throw new AttestError('ERR_ATTEST_TPM_DEVICE', 'The TPM device cannot be opened.', { cause: error });
  }
  return {
    send: async (command) => {
      try {
        await handle.write(command, 0, command.length, null);
        const buffer = Buffer.alloc(MAX_RESPONSE_BYTES);
        const { bytesRead } = await handle.read(buffer, 0, buffer.length, null);
        return buffer.subarray(0, bytesRead);
      } catch (error) {
        throw new AttestError('ERR_ATTEST_TPM_DEVICE', 'The TPM device failed a command.', { cause: error });
      }
    },
    close: () => handle.close(),
  };
}

/**
 * Opens a TPM by address: `tcp://HOST:PORT` or `unix:PATH` (a simulator's command socket), or the path of a
 * character device (`/dev/tpmrm0`).
 */
export async function openTpm(address: string): Promise<TpmDevice> {
  const tcp = /^tcp:\/\/(\[[^\]]+\]|[^:/]+):(\d{1,5})$/.exec(address);
  if (tcp !== null) {
    const host = tcp[1]!.replace(/^\[|\]$/g, '');
    return new TpmDevice(await connectTpmSocket({ host, port: Number(tcp[2]) }));
  }
  if (address.startsWith('unix:')) return new TpmDevice(await connectTpmSocket({ path: address.slice(5) }));
  if (address.startsWith('/')) return new TpmDevice(await openTpmDevice(address));
  throw new AttestError('ERR_ATTEST_TPM_DEVICE', 'A TPM address is tcp://HOST:PORT, unix:PATH or a device path.');
}

/** swtpm's control channel command CMD_INIT (swtpm `tpm_ioctl.h`): a power cycle of the simulated TPM. */
const SWTPM_CMD_INIT = 0x02;

/**
 * Power-cycles a simulator through its control channel (`tcp://HOST:PORT` or `unix:PATH` of swtpm `--ctrl`):
 * every PCR back to its reset value, as a reboot does to a hardware TPM. TPM2_Startup must follow.
 */
export async function resetTpmSimulator(ctrl: string): Promise<void> {
  const tcp = /^tcp:\/\/(\[[^\]]+\]|[^:/]+):(\d{1,5})$/.exec(ctrl);
  const target = tcp !== null ? { host: tcp[1]!.replace(/^\[|\]$/g, ''), port: Number(tcp[2]) } : undefined;
  if (target === undefined && !ctrl.startsWith('unix:'))
    throw new AttestError('ERR_ATTEST_TPM_DEVICE', 'A simulator control address is tcp://HOST:PORT or unix:PATH.');
  const answer: Buffer = await new Promise((resolve, reject) => {
    const socket = target !== undefined ? connect(target.port, target.host) : connect(ctrl.slice(5));
    let received = Buffer.alloc(0);
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new AttestError('ERR_ATTEST_TPM_DEVICE', 'The simulator did not answer CMD_INIT in time.'));
    }, COMMAND_TIMEOUT_MS);
    socket.once('connect', () => socket.write(new ByteWriter().u32(SWTPM_CMD_INIT).u32(0).finish()));
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      if (received.length < 4) return;
      clearTimeout(timer);
      socket.destroy();
      resolve(received.subarray(0, 4));
    });
    socket.once('error', (error) => {
      clearTimeout(timer);
      reject(new AttestError('ERR_ATTEST_TPM_DEVICE', 'The simulator control channel failed.', { cause: error }));
    });
  });
  const result = answer.readUInt32BE(0);
  if (result !== 0) throw tpmFailure('CMD_INIT', result);
}
