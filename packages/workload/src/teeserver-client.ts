// A client for the launcher's teeserver: fresh default tokens and custom tokens with own audience and nonces.
import { request } from 'node:http';
import { WorkloadError } from './errors.ts';
import { resolveLauncherPaths } from './paths.ts';

export type CustomTokenType = 'OIDC' | 'PKI';

export interface CustomTokenOptions {
  readonly audience: string;
  /** 0–6 nonces of 8–88 bytes each; the teeserver enforces the documented limits. */
  readonly nonces?: readonly string[];
  readonly tokenType?: CustomTokenType;
  /** Defaults to the launcher's socket. */
  readonly socketPath?: string;
  readonly timeoutMs?: number;
}

const DEFAULT_TIMEOUT_MS = 30_000;

/**
 * `POST /v1/token` on the teeserver socket; the answer is the raw JWT.
 *
 * @example
 * ```ts
 * // A token for a relying party of one's own, bound to its nonce (e.g. tlsBindingNonce(socket)).
 * const token = await requestCustomToken({ audience: 'https://collab.example', nonces: [nonce] });
 * ```
 */
export async function requestCustomToken(options: CustomTokenOptions): Promise<string> {
  const body = JSON.stringify({
    audience: options.audience,
    nonces: options.nonces ?? [],
    token_type: options.tokenType ?? 'OIDC',
  });
  return callTeeServer('POST', body, options.socketPath, options.timeoutMs);
}

/** `GET /v1/token`: a freshly attested default token (audience STS), for when the file is not enough. */
export async function fetchDefaultToken(options: { socketPath?: string; timeoutMs?: number } = {}): Promise<string> {
  return callTeeServer('GET', undefined, options.socketPath, options.timeoutMs);
}

function callTeeServer(
  method: 'GET' | 'POST',
  body: string | undefined,
  socketPath = resolveLauncherPaths().socketPath,
  timeoutMs = DEFAULT_TIMEOUT_MS,
): Promise<string> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = body === undefined ? {} : { 'content-type': 'application/json' };
    const req = request({ socketPath, path: '/v1/token', method, headers, host: 'localhost' }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('error', (cause) =>
        reject(new WorkloadError('ERR_WORKLOAD_TEESERVER', 'teeserver answer cut', { cause })),
      );
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        const status = res.statusCode ?? 0;
        if (status === 200) resolve(text.trim());
        // The teeserver's 400 body is its reason text, safe to pass on: it holds no token.
        else if (status === 400) reject(new WorkloadError('ERR_WORKLOAD_TOKEN_REQUEST_REFUSED', text.trim()));
        else reject(new WorkloadError('ERR_WORKLOAD_TEESERVER', `the teeserver answered ${status}`));
      });
    });
    req.setTimeout(timeoutMs, () =>
      req.destroy(new WorkloadError('ERR_WORKLOAD_TEESERVER', `the teeserver gave no answer within ${timeoutMs} ms`)),
    );
    req.on('error', (cause) =>
      reject(new WorkloadError('ERR_WORKLOAD_TEESERVER', `the teeserver at ${socketPath} is unreachable`, { cause })),
    );
    req.end(body);
  });
}
