// REST routes for hosts: enrolment tokens and the host list (administrators), join and channel discovery (hosts).
import { type ApiRoute, parseWith } from '@sealroom/transport';
import { z } from 'zod';
import { ComputeError } from '../errors.ts';
import type { HostEnrolment, HostListing } from './enrolment.ts';

const TokenBody = z.object({ pool: z.string().max(64), ttlSeconds: z.number().int().optional() }).strict();
const JoinBody = z
  .object({
    token: z.string().max(256),
    csr: z
      .string()
      .max(12_000)
      .regex(/^[A-Za-z0-9+/=]+$/),
  })
  .strict();

export interface HostRoutesOptions {
  readonly enrolment: HostEnrolment;
  /** Every joined host with its live state. */
  readonly list: () => Promise<HostListing[]>;
  /** `https://HOST:PORT` of the host channel, or undefined when remote hosts are disabled. */
  readonly channelEndpoint: () => string | undefined;
  /** Every live replica's channel endpoint, this one's first: a host moves to another when its replica dies. */
  readonly channelEndpoints?: () => Promise<string[]>;
}

export function hostRoutes(options: HostRoutesOptions): ApiRoute[] {
  return [
    {
      method: 'POST',
      path: '/v1/admin/hostTokens',
      handler: async (req) => {
        const body = parseWith(TokenBody, req.body);
        return options.enrolment.createToken(req.caller, body.pool, body.ttlSeconds);
      },
    },
    {
      method: 'GET',
      path: '/v1/admin/hosts',
      body: 'none',
      handler: async (req) => {
        await options.enrolment.requireAdmin(req.caller);
        return { hosts: await options.list() };
      },
    },
    {
      // The token is the credential: no bearer token is looked at.
      method: 'POST',
      path: '/v1/hosts:join',
      auth: 'none',
      bodyLimit: 32 * 1024,
      handler: async (req) => {
        const body = parseWith(JoinBody, req.body);
        const joined = await options.enrolment.join(body.token, Buffer.from(body.csr, 'base64'));
        const endpoint = options.channelEndpoint();
        if (endpoint === undefined)
          throw new ComputeError('ERR_COMPUTE_HOST_DISABLED', 'This deployment does not accept remote hosts.');
        const channelEndpoints = (await options.channelEndpoints?.()) ?? [endpoint];
        return { ...joined, channelEndpoint: endpoint, channelEndpoints };
      },
    },
    {
      // Not a secret: a host finds the channel's port here after a restart; the channel itself is mutual TLS.
      method: 'GET',
      path: '/v1/hosts:channel',
      auth: 'none',
      body: 'none',
      handler: async () => {
        const endpoint = options.channelEndpoint();
        if (endpoint === undefined)
          throw new ComputeError('ERR_COMPUTE_HOST_DISABLED', 'This deployment does not accept remote hosts.');
        const channelEndpoints = (await options.channelEndpoints?.()) ?? [endpoint];
        return { channelEndpoint: endpoint, channelEndpoints };
      },
    },
  ];
}
