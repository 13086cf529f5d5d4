// REST routes of the transparency log: log key, checkpoints, consistency proofs, cosignatures, per-project receipts.
import { type Caller, CoreError, type ProjectRef, invalidArgument, permissionDenied } from '@sealroom/core';
import { type ApiRoute, type ServiceContext, parseWith, reply } from '@sealroom/transport';
import { z } from 'zod';
import { parseCheckpoint } from './checkpoint.ts';
import { parseCosignatureVerifierKey } from './cosignature.ts';
import { type FactValue, MAX_ENTRY_BYTES, parseLeaf } from './entry.ts';
import { TransparencyError } from './errors.ts';
import type { TransparencyLog } from './log.ts';
import { parseNote } from './note.ts';

export const PERMISSION = {
  listReceipts: 'transparency.receipts.list',
  getReceipt: 'transparency.receipts.get',
  createEntry: 'transparency.entries.create',
} as const;

const NOTE_CONTENT_TYPE = 'text/plain; charset=utf-8';
const MAX_PAGE_SIZE = 1000;
const MAX_FACTS = 32;
const MAX_FACT_CHARS = 256;

const count = (name: string) =>
  z
    .string()
    .regex(/^(0|[1-9][0-9]{0,15})$/, `${name} must be a decimal count`)
    .transform(Number);

const CosignatureBody = z.strictObject({
  /** The checkpoint as the log signed it (other cosignatures may follow). */
  checkpoint: z.string().max(64 * 1024),
  /** The witness's signature line, `— name base64`. */
  cosignature: z.string().max(1024),
  /** The witness's cosignature/v1 verifier key. */
  witnessKey: z.string().max(1024),
});

const EntryBody = z.strictObject({
  kind: z.literal('workload.release'),
  facts: z
    .record(
      z.string().regex(/^[A-Za-z][A-Za-z0-9_.-]{0,63}$/),
      z.union([z.string().max(MAX_FACT_CHARS), z.number().finite(), z.boolean()]),
    )
    .refine((facts) => Object.keys(facts).length <= MAX_FACTS, `at most ${MAX_FACTS} facts`),
});

export function transparencyRoutes(log: TransparencyLog, ctx: ServiceContext): ApiRoute[] {
  /** Authorizes on the project, then resolves it; denied and missing answer the same. */
  const project = async (caller: Caller | undefined, id: string, permission: string): Promise<ProjectRef> => {
    const resource = `projects/${id}`;
    if (!(await ctx.authorizer.isAllowed(caller, permission, resource))) throw permissionDenied(permission, resource);
    const ref = await ctx.projects.resolve(id);
    if (!ref) throw permissionDenied(permission, resource);
    return ref;
  };
  const note = (text: string) => reply(text, 200, { 'content-type': NOTE_CONTENT_TYPE, 'cache-control': 'no-store' });

  return [
    {
      method: 'GET',
      path: '/v1/transparency/log-key',
      auth: 'none',
      handler: async () => ({ origin: log.origin, verifierKey: log.verifierKey }),
    },
    {
      method: 'GET',
      path: '/v1/transparency/checkpoint',
      auth: 'none',
      handler: async () => note(((await log.latestCheckpoint()) ?? (await log.checkpointCovering(0))).cosignedNote),
    },
    {
      method: 'GET',
      path: '/v1/transparency/checkpoints/{size}',
      auth: 'none',
      handler: async (req) => {
        const size = parseWith(count('size'), req.params.size, 'size');
        const checkpoint = await log.checkpointAt(size);
        if (!checkpoint) {
          throw new TransparencyError(
            'ERR_TRANSPARENCY_CHECKPOINT_UNKNOWN',
            `The log signed no checkpoint of size ${size}.`,
          );
        }
        return note(checkpoint.cosignedNote);
      },
    },
    {
      method: 'GET',
      path: '/v1/transparency/proofs/consistency',
      auth: 'none',
      handler: async (req) => {
        const first = parseWith(count('first'), req.query.first ?? '', 'first');
        const second = parseWith(count('second'), req.query.second ?? '', 'second');
        const hashes = await log.consistencyProof(first, second);
        return { first, second, hashes: hashes.map((h) => h.toString('base64')) };
      },
    },
    {
      method: 'POST',
      path: '/v1/transparency/cosignatures',
      handler: async (req) => {
        const body = parseWith(CosignatureBody, req.body);
        const witness = parseCosignatureVerifierKey(body.witnessKey);
        const text = parseNote(body.checkpoint).text;
        const { size } = parseCheckpoint(text);
        const ours = await log.checkpointAt(size);
        if (!ours || parseNote(ours.note).text !== text) {
          throw new TransparencyError(
            'ERR_TRANSPARENCY_CHECKPOINT_UNKNOWN',
            `The cosigned checkpoint of size ${size} is not one this log signed.`,
          );
        }
        const line = `${body.cosignature.replace(/\n$/, '')}\n`;
        const [signature] = parseNote(`x\n\n${line}`).signatures;
        if (
          !signature ||
          signature.name !== witness.name ||
          signature.keyId !== witness.keyId ||
          !witness.verify(Buffer.from(text, 'utf8'), signature.signature)
        ) {
          throw new TransparencyError(
            'ERR_TRANSPARENCY_SIGNATURE_INVALID',
            `The cosignature does not verify under the witness key of ${witness.name}.`,
          );
        }
        await log.addCosignature(size, witness.name, witness.keyId, line);
        return { size, witness: witness.name };
      },
    },
    {
      method: 'GET',
      path: '/v1/projects/{project}/transparency/receipts',
      handler: async (req) => {
        const ref = await project(req.caller, req.params.project ?? '', PERMISSION.listReceipts);
        const pageSize = Math.min(
          req.query.pageSize === undefined ? 100 : parseWith(count('pageSize'), req.query.pageSize, 'pageSize') || 100,
          MAX_PAGE_SIZE,
        );
        const after =
          req.query.pageToken === undefined
            ? undefined
            : parseWith(count('pageToken'), req.query.pageToken, 'pageToken');
        if (req.query.kind !== undefined && !/^[a-z]+\.[a-z]+$/.test(req.query.kind))
          throw invalidArgument("Invalid value at 'kind'.");
        const leaves = await log.leavesOfProject(ref.projectNumber, {
          pageSize: pageSize + 1,
          ...(after === undefined ? {} : { afterIndex: after }),
          ...(req.query.kind === undefined ? {} : { kind: req.query.kind }),
        });
        const page = leaves.slice(0, pageSize);
        const last = page.at(-1);
        return {
          receipts: page.map((l) => {
            const { salt: _salt, v: _v, ...entry } = parseLeaf(l.leaf);
            return { index: l.index, ...entry };
          }),
          ...(leaves.length > pageSize && last ? { nextPageToken: String(last.index) } : {}),
        };
      },
    },
    {
      method: 'GET',
      path: '/v1/projects/{project}/transparency/receipts/{index}',
      handler: async (req) => {
        const ref = await project(req.caller, req.params.project ?? '', PERMISSION.getReceipt);
        const index = parseWith(count('index'), req.params.index, 'index');
        const treeSize =
          req.query.treeSize === undefined ? undefined : parseWith(count('treeSize'), req.query.treeSize, 'treeSize');
        const leaf = await log.leaf(index);
        // Another project's entry answers as a missing one does.
        if (!leaf || leaf.projectNumber !== ref.projectNumber) {
          throw permissionDenied(
            PERMISSION.getReceipt,
            `projects/${req.params.project}/transparency/receipts/${index}`,
          );
        }
        return reply(await log.receipt(index, treeSize), 200, { 'content-type': NOTE_CONTENT_TYPE });
      },
    },
    {
      method: 'POST',
      path: '/v1/projects/{project}/transparency/entries',
      handler: async (req) => {
        const ref = await project(req.caller, req.params.project ?? '', PERMISSION.createEntry);
        const body = parseWith(EntryBody, req.body);
        if (JSON.stringify(body.facts).length > MAX_ENTRY_BYTES / 2) {
          throw new TransparencyError('ERR_TRANSPARENCY_BAD_ENTRY', 'The release summary is too large.');
        }
        if (!req.caller) throw new CoreError('ERR_UNAUTHENTICATED', 'Request had no credentials.');
        const index = await log.append({
          kind: body.kind,
          project: ref.projectNumber,
          method: 'sealroom.transparency.v1.AppendEntry',
          resource: `projects/${ref.projectNumber}`,
          principal: req.caller.principal,
          outcome: 'ALLOWED',
          facts: {
            ...(body.facts as Record<string, FactValue>),
            ...Object.fromEntries(
              Object.entries(req.caller.federation?.attributes ?? {})
                .slice(0, 8)
                .map(([name, value]) => [`attribute.${name}`, value.slice(0, 512)]),
            ),
          },
        });
        const checkpoint = await log.checkpointCovering(index + 1);
        return { index, checkpoint: checkpoint.cosignedNote };
      },
    },
  ];
}
