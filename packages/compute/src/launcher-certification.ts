// The platform CA's side of a launcher's certification, answered on its report channel: the CA's private key stays
// in the host agent (the launcher parses untrusted images), and every certificate names the instance the host
// booted, whatever the launcher says.
import { createPublicKey, randomUUID } from 'node:crypto';
import { type AkCertifier, type AkEnrolmentChallenge, type PlatformCa, beginAkEnrolment } from '@sealroom/attest';
import type { Clock } from '@sealroom/core';
import { ComputeError } from './errors.ts';
import type { BootRequest } from './host-agent.ts';
import type { PlatformKind } from './platforms.ts';

/** A TPM enrolment's challenge is answered at once (one ActivateCredential): it expires soon, few are held. */
const AK_CHALLENGE_TTL_MS = 60_000;
const MAX_AK_CHALLENGES = 16;

export interface LauncherCertificationOptions {
  /** The platform CA here, or (a remote host) a certifier that asks the control plane. */
  readonly platformCa: () => PlatformCa | AkCertifier;
  readonly clock: Clock;
}

export interface LauncherCertification {
  /** Answers one certification call of the launcher of `request`'s boot on the `kind` platform. */
  answer(op: string, args: Record<string, unknown>, request: BootRequest, kind: PlatformKind): Promise<unknown>;
}

const denied = () => new ComputeError('ERR_COMPUTE_HOST_DENIED', 'the host does not answer this for this instance');

/** A launcher that names an instance names the one this host booted. */
function sameInstance(args: Record<string, unknown>, request: BootRequest): void {
  if (args.instanceId !== undefined && String(args.instanceId) !== request.instanceId) throw denied();
}

export function createLauncherCertification(options: LauncherCertificationOptions): LauncherCertification {
  /** The TPM enrolments under way: the CA's side of each, for the instance it was begun for. */
  const challenges = new Map<string, { challenge: AkEnrolmentChallenge; instanceId: string; expiresAt: number }>();
  return {
    async answer(op, args, request, kind) {
      const instance = {
        zone: request.zone,
        projectId: request.projectId,
        projectNumber: request.projectNumber,
        instanceName: request.name,
        instanceId: request.instanceId,
      };
      switch (op) {
        case 'certifyAk':
        case 'certifyIdentity': {
          // The certificate names this instance, whatever the launcher says: the request is the host's, not its.
          if (op === 'certifyIdentity' && kind !== 'sev-snp' && kind !== 'tdx') throw denied();
          sameInstance(args, request);
          const key = createPublicKey({
            key: Buffer.from(String(op === 'certifyAk' ? args.akPublicKey : args.spki), 'base64'),
            format: 'der',
            type: 'spki',
          });
          const ca = options.platformCa();
          const der =
            typeof ca === 'function'
              ? await ca(key, instance)
              : ca.issueAkCertificate(
                  key,
                  { ...instance, securityVersion: '0', isProduction: true },
                  options.clock.now(),
                );
          return der.toString('base64');
        }
        case 'akChallenge': {
          // The CA's side of the TPM's enrolment runs here: its private key never reaches the launcher.
          const ca = options.platformCa();
          if (kind !== 'tpm' || typeof ca === 'function') throw denied();
          sameInstance(args, request);
          const challenge = beginAkEnrolment(
            ca,
            Buffer.from(String(args.ekPublicArea), 'base64'),
            Buffer.from(String(args.akPublicArea), 'base64'),
          );
          const id = randomUUID();
          const now = options.clock.now();
          for (const [key, held] of challenges) if (held.expiresAt <= now) challenges.delete(key);
          while (challenges.size >= MAX_AK_CHALLENGES) challenges.delete(challenges.keys().next().value as string);
          challenges.set(id, { challenge, instanceId: request.instanceId, expiresAt: now + AK_CHALLENGE_TTL_MS });
          return {
            id,
            credentialBlob: challenge.credentialBlob.toString('base64'),
            secret: challenge.secret.toString('base64'),
          };
        }
        case 'akComplete': {
          const id = String(args.id);
          const held = challenges.get(id);
          // Single use: a wrong answer spends the challenge as a right one does.
          challenges.delete(id);
          if (!held || held.instanceId !== request.instanceId || held.expiresAt <= options.clock.now()) throw denied();
          const certificate = held.challenge.complete(
            Buffer.from(String(args.recovered), 'base64'),
            { ...instance, securityVersion: '0', isProduction: true },
            options.clock.now(),
          );
          return certificate.toString('base64');
        }
        default:
          throw new ComputeError('ERR_COMPUTE_BAD_REQUEST', `unknown launcher call ${op}`);
      }
    },
  };
}
