// REST v1 routes of Pub/Sub (pubsub.googleapis.com/v1): parse the JSON, call the service, shape the reply.
import { CoreError } from '@sealroom/core';
import { iamPolicyRoutes } from '@sealroom/iam';
import { type ApiRequest, type ApiRoute, parseWith, type ServiceContext } from '@sealroom/transport';
import { z } from 'zod';
import { MAX_PUBLISH_REQUEST_BYTES } from './limits.ts';
import type { PubsubService } from './service.ts';
import type { PubsubStore } from './store.ts';
import {
  fromReceived,
  fromSubscription,
  fromTopic,
  toInt,
  toMask,
  toOutgoingMessages,
  toStringList,
  toSubscriptionSpec,
  toTopicSpec,
} from './wire.ts';

const TOPIC = 'projects/*/topics/*';
const SUB = 'projects/*/subscriptions/*';
/** Base64 inflates data by 4/3; the 10 MB limit is checked on the decoded messages. */
const PUBLISH_BODY_LIMIT = Math.ceil((MAX_PUBLISH_REQUEST_BYTES * 4) / 3) + 1024 * 1024;

const TOPIC_FIELDS = [
  'name',
  'labels',
  'messageStoragePolicy',
  'kmsKeyName',
  'schemaSettings',
  'satisfiesPzs',
  'messageRetentionDuration',
  'state',
  'ingestionDataSourceSettings',
  'messageTransforms',
  'tags',
];
const SUBSCRIPTION_FIELDS = [
  'name',
  'topic',
  'pushConfig',
  'bigqueryConfig',
  'cloudStorageConfig',
  'bigtableConfig',
  'ackDeadlineSeconds',
  'retainAckedMessages',
  'messageRetentionDuration',
  'labels',
  'enableMessageOrdering',
  'expirationPolicy',
  'filter',
  'deadLetterPolicy',
  'retryPolicy',
  'detached',
  'enableExactlyOnceDelivery',
  'topicMessageRetentionDuration',
  'state',
  'analyticsHubSubscriptionInfo',
  'messageTransforms',
  'tags',
];

/** A body with exactly these fields; their values are converted by wire.ts, which gRPC requests share. */
function fieldsOf(fields: readonly string[]) {
  return z.object(Object.fromEntries(fields.map((field) => [field, z.unknown().optional()]))).strict();
}

const TopicBody = fieldsOf(TOPIC_FIELDS);
const SubscriptionBody = fieldsOf(SUBSCRIPTION_FIELDS);
const UpdateTopicBody = z.object({ topic: TopicBody.optional(), updateMask: z.unknown().optional() }).strict();
const UpdateSubscriptionBody = z
  .object({ subscription: SubscriptionBody.optional(), updateMask: z.unknown().optional() })
  .strict();
const PublishBody = fieldsOf(['topic', 'messages']);
const PullBody = fieldsOf(['subscription', 'returnImmediately', 'maxMessages']);
const AcknowledgeBody = fieldsOf(['subscription', 'ackIds']);
const ModifyAckDeadlineBody = fieldsOf(['subscription', 'ackIds', 'ackDeadlineSeconds']);

/** Refuses a body that is not an object or has fields the method does not know, as Google's JSON parser does. */
function parseBody<S extends z.ZodType>(schema: S, body: unknown): z.infer<S> {
  if (body === undefined || body === '') return parseWith(schema, {});
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new CoreError('ERR_BAD_REQUEST_BODY', 'Invalid JSON payload received. Expected an object.');
  }
  return parseWith(schema, body);
}

/** A name in the body must agree with the one in the URL. */
function sameName(bodyName: unknown, urlName: string): void {
  if (typeof bodyName === 'string' && bodyName !== '' && bodyName !== urlName) {
    throw new CoreError('ERR_INVALID_ARGUMENT', `The resource name in the body (${bodyName}) does not match the URL.`);
  }
}

function page(req: ApiRequest): [number, string] {
  return [toInt(req.query.pageSize, 'page_size'), req.query.pageToken ?? ''];
}

export function pubsubRoutes(service: PubsubService): ApiRoute[] {
  const access = (req: ApiRequest) => ({ caller: req.caller });
  return [
    {
      method: 'PUT',
      path: `/v1/{name=${TOPIC}}`,
      handler: async (req) => {
        const body = parseBody(TopicBody, req.body);
        sameName(body.name, req.params.name as string);
        return fromTopic(await service.createTopic(access(req), req.params.name as string, toTopicSpec(body)), 'rest');
      },
    },
    {
      method: 'GET',
      path: `/v1/{topic=${TOPIC}}`,
      handler: async (req) => fromTopic(await service.getTopic(access(req), req.params.topic as string), 'rest'),
    },
    {
      method: 'PATCH',
      path: `/v1/{name=${TOPIC}}`,
      handler: async (req) => {
        const body = parseBody(UpdateTopicBody, req.body);
        const topic = body.topic ?? {};
        sameName(topic.name, req.params.name as string);
        const updated = await service.updateTopic(
          access(req),
          req.params.name as string,
          toTopicSpec(topic),
          toMask(body.updateMask),
        );
        return fromTopic(updated, 'rest');
      },
    },
    {
      method: 'DELETE',
      path: `/v1/{topic=${TOPIC}}`,
      handler: async (req) => {
        await service.deleteTopic(access(req), req.params.topic as string);
        return {};
      },
    },
    {
      method: 'GET',
      path: '/v1/{project=projects/*}/topics',
      handler: async (req) => {
        const result = await service.listTopics(access(req), req.params.project as string, ...page(req));
        return {
          ...(result.items.length > 0 ? { topics: result.items.map((t) => fromTopic(t, 'rest')) } : {}),
          ...(result.nextPageToken ? { nextPageToken: result.nextPageToken } : {}),
        };
      },
    },
    {
      method: 'GET',
      path: `/v1/{topic=${TOPIC}}/subscriptions`,
      handler: async (req) => {
        const result = await service.listTopicSubscriptions(access(req), req.params.topic as string, ...page(req));
        return {
          ...(result.items.length > 0 ? { subscriptions: result.items } : {}),
          ...(result.nextPageToken ? { nextPageToken: result.nextPageToken } : {}),
        };
      },
    },
    {
      method: 'POST',
      path: `/v1/{topic=${TOPIC}}:publish`,
      bodyLimit: PUBLISH_BODY_LIMIT,
      handler: async (req) => {
        const body = parseBody(PublishBody, req.body);
        const messages = toOutgoingMessages(body.messages);
        return { messageIds: await service.publish(access(req), req.params.topic as string, messages) };
      },
    },
    {
      method: 'PUT',
      path: `/v1/{name=${SUB}}`,
      handler: async (req) => {
        const body = parseBody(SubscriptionBody, req.body);
        sameName(body.name, req.params.name as string);
        const created = await service.createSubscription(
          access(req),
          req.params.name as string,
          toSubscriptionSpec(body),
        );
        return fromSubscription(created, 'rest');
      },
    },
    {
      method: 'GET',
      path: `/v1/{subscription=${SUB}}`,
      handler: async (req) =>
        fromSubscription(await service.getSubscription(access(req), req.params.subscription as string), 'rest'),
    },
    {
      method: 'PATCH',
      path: `/v1/{name=${SUB}}`,
      handler: async (req) => {
        const body = parseBody(UpdateSubscriptionBody, req.body);
        const sub = body.subscription ?? {};
        sameName(sub.name, req.params.name as string);
        const updated = await service.updateSubscription(
          access(req),
          req.params.name as string,
          toSubscriptionSpec(sub),
          toMask(body.updateMask),
        );
        return fromSubscription(updated, 'rest');
      },
    },
    {
      method: 'DELETE',
      path: `/v1/{subscription=${SUB}}`,
      handler: async (req) => {
        await service.deleteSubscription(access(req), req.params.subscription as string);
        return {};
      },
    },
    {
      method: 'GET',
      path: '/v1/{project=projects/*}/subscriptions',
      handler: async (req) => {
        const result = await service.listSubscriptions(access(req), req.params.project as string, ...page(req));
        return {
          ...(result.items.length > 0 ? { subscriptions: result.items.map((s) => fromSubscription(s, 'rest')) } : {}),
          ...(result.nextPageToken ? { nextPageToken: result.nextPageToken } : {}),
        };
      },
    },
    {
      method: 'POST',
      path: `/v1/{subscription=${SUB}}:pull`,
      handler: async (req) => {
        const body = parseBody(PullBody, req.body);
        const received = await service.pull(
          access(req),
          req.params.subscription as string,
          toInt(body.maxMessages, 'max_messages'),
          body.returnImmediately === true,
          req.signal,
        );
        return received.length > 0 ? { receivedMessages: received.map((r) => fromReceived(r, 'rest')) } : {};
      },
    },
    {
      method: 'POST',
      path: `/v1/{subscription=${SUB}}:acknowledge`,
      handler: async (req) => {
        const body = parseBody(AcknowledgeBody, req.body);
        await service.acknowledge(access(req), req.params.subscription as string, toStringList(body.ackIds, 'ack_ids'));
        return {};
      },
    },
    {
      method: 'POST',
      path: `/v1/{subscription=${SUB}}:modifyAckDeadline`,
      handler: async (req) => {
        const body = parseBody(ModifyAckDeadlineBody, req.body);
        await service.modifyAckDeadline(
          access(req),
          req.params.subscription as string,
          toStringList(body.ackIds, 'ack_ids'),
          toInt(body.ackDeadlineSeconds, 'ack_deadline_seconds'),
        );
        return {};
      },
    },
  ];
}

/** getIamPolicy (GET and POST), setIamPolicy and testIamPermissions on topics and subscriptions. */
export function pubsubPolicyRoutes(store: PubsubStore, ctx: ServiceContext): ApiRoute[] {
  return [
    ...iamPolicyRoutes(ctx, {
      resource: TOPIC,
      permissionPrefix: 'pubsub.topics',
      methodPrefix: 'google.pubsub.v1.Publisher',
      exists: async (name) => (await store.getTopic(name)) !== undefined,
      kind: 'Topic',
    }),
    ...iamPolicyRoutes(ctx, {
      resource: SUB,
      permissionPrefix: 'pubsub.subscriptions',
      methodPrefix: 'google.pubsub.v1.Subscriber',
      exists: async (name) => (await store.getSubscription(name)) !== undefined,
      kind: 'Subscription',
    }),
  ];
}
