// `sealroom pubsub …`: topics and subscriptions, publish and pull, IAM bindings (gcloud's nouns and flags).
import type { CommandContext, CommandSpec, FlagSpec } from '../command.ts';
import { UsageError } from '../command.ts';
import { BINDING_FLAGS, changeIamPolicyBinding } from '../iam-helpers.ts';

const seg = (value: unknown) => encodeURIComponent(String(value));

/** A topic or subscription given by id (in the current project) or as a full resource name. */
function resourceName(ctx: CommandContext, kind: 'topics' | 'subscriptions', id: unknown): string {
  const text = String(id);
  return text.startsWith('projects/') ? text : `projects/${seg(ctx.project())}/${kind}/${seg(text)}`;
}

/** gcloud's `--attribute=K=V,K2=V2` (repeatable) → a map. */
function parseAttributes(values: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  const list = Array.isArray(values) ? values : values === undefined ? [] : [values];
  for (const item of list as string[]) {
    for (const pair of item.split(',')) {
      const eq = pair.indexOf('=');
      if (eq <= 0) throw new UsageError(`Invalid --attribute [${pair}]: use KEY=VALUE.`);
      out[pair.slice(0, eq)] = pair.slice(eq + 1);
    }
  }
  return out;
}

/** gcloud durations for retention flags: 10m, 7d, 3600s → protobuf Duration JSON. */
function toDuration(text: string): string {
  const match = /^(\d+)([smhd])$/.exec(text);
  if (!match) throw new UsageError(`Invalid duration [${text}]: use e.g. 7d, 12h or 600s.`);
  return `${Number(match[1]) * { s: 1, m: 60, h: 3600, d: 86400 }[match[2] as 's' | 'm' | 'h' | 'd']}s`;
}

const SUBSCRIPTION_FLAGS: Readonly<Record<string, FlagSpec>> = {
  topic: { type: 'string', description: 'Topic the subscription receives from (id or full name).', required: true },
  'ack-deadline': { type: 'string', description: 'Seconds a subscriber has to acknowledge (10–600).' },
  'dead-letter-topic': { type: 'string', description: 'Topic that receives undeliverable messages.' },
  'max-delivery-attempts': { type: 'string', description: 'Deliveries before dead-lettering (5–100).' },
  'enable-message-ordering': { type: 'boolean', description: 'Deliver messages with one ordering key in order.' },
  'retain-acked-messages': { type: 'boolean', description: 'Keep acknowledged messages until retention ends.' },
  'message-retention-duration': { type: 'string', description: 'How long messages are kept, e.g. 7d (10m–7d).' },
};

function iamBindingCommands(kind: 'topics' | 'subscriptions', label: string): CommandSpec[] {
  return (['add', 'remove'] as const).map((verb) => ({
    path: ['pubsub', kind, `${verb}-iam-policy-binding`],
    summary: `${verb === 'add' ? 'Adds a binding to' : 'Removes a binding from'} a ${label}'s IAM policy.`,
    args: [{ name: label.toUpperCase(), required: true }],
    flags: BINDING_FLAGS,
    async run(ctx) {
      const name = resourceName(ctx, kind, ctx.args[label.toUpperCase()]);
      const policy = await changeIamPolicyBinding(ctx.api, `/v1/${name}`, {
        member: ctx.flags.member as string,
        role: ctx.flags.role as string,
        ...(verb === 'remove' ? { remove: true } : {}),
      });
      ctx.err(`Updated IAM policy for ${label} [${ctx.args[label.toUpperCase()]}].`);
      return policy;
    },
  }));
}

export const pubsubCommands: CommandSpec[] = [
  {
    path: ['pubsub', 'topics', 'create'],
    summary: 'Creates a topic.',
    args: [{ name: 'TOPIC', required: true }],
    async run(ctx) {
      const name = resourceName(ctx, 'topics', ctx.args.TOPIC);
      const topic = await ctx.api.request('PUT', `/v1/${name}`, { body: {} });
      ctx.err(`Created topic [${name}].`);
      return topic;
    },
  },
  {
    path: ['pubsub', 'topics', 'list'],
    summary: 'Lists the topics of the project.',
    defaultFormat: 'table(name)',
    async run(ctx) {
      const path = `/v1/projects/${seg(ctx.project())}/topics`;
      return (await ctx.api.request<{ topics?: unknown[] }>('GET', path, { query: { pageSize: '1000' } })).topics ?? [];
    },
  },
  {
    path: ['pubsub', 'topics', 'describe'],
    summary: 'Shows a topic.',
    args: [{ name: 'TOPIC', required: true }],
    run: (ctx) => ctx.api.request('GET', `/v1/${resourceName(ctx, 'topics', ctx.args.TOPIC)}`),
  },
  {
    path: ['pubsub', 'topics', 'delete'],
    summary: 'Deletes a topic (its subscriptions stay, detached).',
    args: [{ name: 'TOPIC', required: true }],
    async run(ctx) {
      const name = resourceName(ctx, 'topics', ctx.args.TOPIC);
      await ctx.api.request('DELETE', `/v1/${name}`);
      ctx.err(`Deleted topic [${name}].`);
      return undefined;
    },
  },
  {
    path: ['pubsub', 'topics', 'publish'],
    summary: 'Publishes one message to a topic.',
    args: [{ name: 'TOPIC', required: true }],
    flags: {
      message: { type: 'string', description: 'The message body (UTF-8).' },
      attribute: { type: 'string', multiple: true, description: 'KEY=VALUE,… attributes of the message.' },
      'ordering-key': { type: 'string', description: 'Ordering key of the message.' },
    },
    run(ctx) {
      const attributes = parseAttributes(ctx.flags.attribute);
      const message = ctx.flags.message === undefined ? '' : String(ctx.flags.message);
      if (message === '' && Object.keys(attributes).length === 0) {
        throw new UsageError('You must provide a non-empty --message or at least one --attribute.');
      }
      return ctx.api.request('POST', `/v1/${resourceName(ctx, 'topics', ctx.args.TOPIC)}:publish`, {
        body: {
          messages: [
            {
              data: Buffer.from(message, 'utf8').toString('base64'),
              ...(Object.keys(attributes).length > 0 ? { attributes } : {}),
              ...(ctx.flags['ordering-key'] ? { orderingKey: String(ctx.flags['ordering-key']) } : {}),
            },
          ],
        },
      });
    },
  },
  ...iamBindingCommands('topics', 'topic'),
  {
    path: ['pubsub', 'subscriptions', 'create'],
    summary: 'Creates a subscription to a topic.',
    args: [{ name: 'SUBSCRIPTION', required: true }],
    flags: SUBSCRIPTION_FLAGS,
    async run(ctx) {
      const name = resourceName(ctx, 'subscriptions', ctx.args.SUBSCRIPTION);
      const f = ctx.flags;
      const sub = await ctx.api.request('PUT', `/v1/${name}`, {
        body: {
          topic: resourceName(ctx, 'topics', f.topic),
          ...(f['ack-deadline'] ? { ackDeadlineSeconds: Number(f['ack-deadline']) } : {}),
          ...(f['dead-letter-topic']
            ? {
                deadLetterPolicy: {
                  deadLetterTopic: resourceName(ctx, 'topics', f['dead-letter-topic']),
                  ...(f['max-delivery-attempts'] ? { maxDeliveryAttempts: Number(f['max-delivery-attempts']) } : {}),
                },
              }
            : {}),
          ...(f['enable-message-ordering'] ? { enableMessageOrdering: true } : {}),
          ...(f['retain-acked-messages'] ? { retainAckedMessages: true } : {}),
          ...(f['message-retention-duration']
            ? { messageRetentionDuration: toDuration(String(f['message-retention-duration'])) }
            : {}),
        },
      });
      ctx.err(`Created subscription [${name}].`);
      return sub;
    },
  },
  {
    path: ['pubsub', 'subscriptions', 'list'],
    summary: 'Lists the subscriptions of the project.',
    defaultFormat: 'table(name, topic, ackDeadlineSeconds:label=ACK_DEADLINE)',
    async run(ctx) {
      const path = `/v1/projects/${seg(ctx.project())}/subscriptions`;
      const res = await ctx.api.request<{ subscriptions?: unknown[] }>('GET', path, { query: { pageSize: '1000' } });
      return res.subscriptions ?? [];
    },
  },
  {
    path: ['pubsub', 'subscriptions', 'describe'],
    summary: 'Shows a subscription.',
    args: [{ name: 'SUBSCRIPTION', required: true }],
    run: (ctx) => ctx.api.request('GET', `/v1/${resourceName(ctx, 'subscriptions', ctx.args.SUBSCRIPTION)}`),
  },
  {
    path: ['pubsub', 'subscriptions', 'delete'],
    summary: 'Deletes a subscription and its backlog.',
    args: [{ name: 'SUBSCRIPTION', required: true }],
    async run(ctx) {
      const name = resourceName(ctx, 'subscriptions', ctx.args.SUBSCRIPTION);
      await ctx.api.request('DELETE', `/v1/${name}`);
      ctx.err(`Deleted subscription [${name}].`);
      return undefined;
    },
  },
  {
    path: ['pubsub', 'subscriptions', 'pull'],
    summary: 'Pulls messages from a subscription (acknowledging them with --auto-ack).',
    args: [{ name: 'SUBSCRIPTION', required: true }],
    flags: {
      'auto-ack': { type: 'boolean', description: 'Acknowledge every pulled message.' },
      limit: { type: 'string', description: 'Most messages to pull (default 1).' },
    },
    async run(ctx) {
      const name = resourceName(ctx, 'subscriptions', ctx.args.SUBSCRIPTION);
      const limit = Number(ctx.flags.limit ?? 1);
      if (!Number.isInteger(limit) || limit < 1) throw new UsageError(`Invalid --limit [${ctx.flags.limit}].`);
      const res = await ctx.api.request<{ receivedMessages?: { ackId: string; message: Record<string, unknown> }[] }>(
        'POST',
        `/v1/${name}:pull`,
        { body: { maxMessages: limit, returnImmediately: true } },
      );
      const received = res.receivedMessages ?? [];
      if (ctx.flags['auto-ack'] && received.length > 0) {
        await ctx.api.request('POST', `/v1/${name}:acknowledge`, { body: { ackIds: received.map((r) => r.ackId) } });
      }
      if (received.length === 0) ctx.err('Listed 0 items.');
      return received;
    },
  },
  ...iamBindingCommands('subscriptions', 'subscription'),
];
