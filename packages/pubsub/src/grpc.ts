// gRPC bindings of google.pubsub.v1.Publisher and Subscriber (StreamingPull included) over the service.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { CoreError } from '@sealroom/core';
import type { GrpcBidiHandler, GrpcCallContext, GrpcServiceBinding, GrpcUnaryHandler } from '@sealroom/transport';
import type { Access } from './access.ts';
import type { ReceivedMessage, SubscriptionRecord } from './model.ts';
import type { PubsubService } from './service.ts';
import { type StreamingPullRequestFields, serveStreamingPull } from './streaming-pull.ts';
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

type Loose = Record<string, unknown>;

/** Where the protos shipped in the npm packages live (google/pubsub/v1 and google/api, rpc, protobuf). */
export function pubsubProtoDirs(): string[] {
  const require = createRequire(import.meta.url);
  const pubsubRoot = dirname(require.resolve('@google-cloud/pubsub/package.json'));
  // google-gax exports no package.json: walk up from its entry point to the folder holding build/protos.
  let gaxRoot = dirname(require.resolve('google-gax', { paths: [pubsubRoot] }));
  while (!existsSync(join(gaxRoot, 'build', 'protos')) && dirname(gaxRoot) !== gaxRoot) gaxRoot = dirname(gaxRoot);
  return [join(pubsubRoot, 'build', 'protos'), join(gaxRoot, 'build', 'protos')];
}

export interface PubsubGrpcOptions {
  /** The plaintext emulator port: no identities, IAM not consulted (off by default, dev only). */
  readonly trusted?: boolean;
  /** Aborts when the service shuts down, so open streams end with UNAVAILABLE. */
  readonly shutdown: AbortSignal;
}

function str(value: unknown): string {
  return typeof value === 'string' ? value : '';
}

function obj(value: unknown): Loose {
  return typeof value === 'object' && value !== null ? (value as Loose) : {};
}

function pageOf(request: Loose): [number, string] {
  return [toInt(request.pageSize, 'page_size'), str(request.pageToken)];
}

function toStreamFields(request: Loose): StreamingPullRequestFields {
  return {
    subscription: str(request.subscription),
    ackIds: toStringList(request.ackIds, 'ack_ids'),
    modifyDeadlineSeconds: toStringList(request.modifyDeadlineSeconds, 'modify_deadline_seconds').map(Number),
    modifyDeadlineAckIds: toStringList(request.modifyDeadlineAckIds, 'modify_deadline_ack_ids'),
    streamAckDeadlineSeconds: toInt(request.streamAckDeadlineSeconds, 'stream_ack_deadline_seconds'),
    maxOutstandingMessages: toInt(request.maxOutstandingMessages, 'max_outstanding_messages'),
    maxOutstandingBytes: toInt(request.maxOutstandingBytes, 'max_outstanding_bytes'),
  };
}

const unimplemented: GrpcUnaryHandler = async () => {
  throw new CoreError('ERR_UNIMPLEMENTED', 'Sealroom Pub/Sub does not offer this method.');
};

export function pubsubGrpcBindings(service: PubsubService, options: PubsubGrpcOptions): GrpcServiceBinding[] {
  const access = (context: GrpcCallContext): Access => ({ caller: context.caller, trusted: options.trusted === true });
  const protoFiles = ['google/pubsub/v1/pubsub.proto'];
  const includeDirs = pubsubProtoDirs();
  const auth = options.trusted ? 'optional' : 'required';

  const publisher: Record<string, GrpcUnaryHandler> = {
    CreateTopic: async (r, c) => fromTopic(await service.createTopic(access(c), str(r.name), toTopicSpec(r)), 'grpc'),
    GetTopic: async (r, c) => fromTopic(await service.getTopic(access(c), str(r.topic)), 'grpc'),
    UpdateTopic: async (r, c) => {
      const topic = obj(r.topic);
      return fromTopic(
        await service.updateTopic(access(c), str(topic.name), toTopicSpec(topic), toMask(r.updateMask)),
        'grpc',
      );
    },
    Publish: async (r, c) => ({
      messageIds: await service.publish(access(c), str(r.topic), toOutgoingMessages(r.messages)),
    }),
    ListTopics: async (r, c) => {
      const result = await service.listTopics(access(c), str(r.project), ...pageOf(r));
      return { topics: result.items.map((t) => fromTopic(t, 'grpc')), nextPageToken: result.nextPageToken };
    },
    ListTopicSubscriptions: async (r, c) => {
      const result = await service.listTopicSubscriptions(access(c), str(r.topic), ...pageOf(r));
      return { subscriptions: result.items, nextPageToken: result.nextPageToken };
    },
    ListTopicSnapshots: async () => ({ snapshots: [], nextPageToken: '' }),
    DeleteTopic: async (r, c) => {
      await service.deleteTopic(access(c), str(r.topic));
      return {};
    },
    DetachSubscription: unimplemented,
  };

  const subscriber: Record<string, GrpcUnaryHandler> = {
    CreateSubscription: async (r, c) =>
      fromSubscription(await service.createSubscription(access(c), str(r.name), toSubscriptionSpec(r)), 'grpc'),
    GetSubscription: async (r, c) =>
      fromSubscription(await service.getSubscription(access(c), str(r.subscription)), 'grpc'),
    UpdateSubscription: async (r, c) => {
      const sub = obj(r.subscription);
      const updated = await service.updateSubscription(
        access(c),
        str(sub.name),
        toSubscriptionSpec(sub),
        toMask(r.updateMask),
      );
      return fromSubscription(updated, 'grpc');
    },
    ListSubscriptions: async (r, c) => {
      const result = await service.listSubscriptions(access(c), str(r.project), ...pageOf(r));
      return {
        subscriptions: result.items.map((s) => fromSubscription(s, 'grpc')),
        nextPageToken: result.nextPageToken,
      };
    },
    DeleteSubscription: async (r, c) => {
      await service.deleteSubscription(access(c), str(r.subscription));
      return {};
    },
    Pull: async (r, c) => {
      const received = await service.pull(
        access(c),
        str(r.subscription),
        toInt(r.maxMessages, 'max_messages'),
        r.returnImmediately === true,
        c.signal,
      );
      return { receivedMessages: received.map((m) => fromReceived(m, 'grpc')) };
    },
    Acknowledge: async (r, c) => {
      await service.acknowledge(access(c), str(r.subscription), toStringList(r.ackIds, 'ack_ids'));
      return {};
    },
    ModifyAckDeadline: async (r, c) => {
      await service.modifyAckDeadline(
        access(c),
        str(r.subscription),
        toStringList(r.ackIds, 'ack_ids'),
        toInt(r.ackDeadlineSeconds, 'ack_deadline_seconds'),
      );
      return {};
    },
    ModifyPushConfig: unimplemented,
    GetSnapshot: unimplemented,
    ListSnapshots: async () => ({ snapshots: [], nextPageToken: '' }),
    CreateSnapshot: unimplemented,
    UpdateSnapshot: unimplemented,
    DeleteSnapshot: unimplemented,
    Seek: unimplemented,
  };

  const streamingPull: GrpcBidiHandler = async (stream, context) => {
    const signal = AbortSignal.any([stream.signal, options.shutdown]);
    // The stream outlives the moment its token was checked: each later request and each delivery checks it
    // again, so a disabled account, a revoked token or an expired one ends the stream with UNAUTHENTICATED.
    const stillAuthenticated = async () => {
      if (options.trusted !== true) await context.reauthenticate?.();
    };
    const requests = (async function* () {
      let first = true;
      for await (const request of stream.incoming) {
        if (!first) await stillAuthenticated();
        first = false;
        yield toStreamFields(request);
      }
    })();
    const send = async (messages: ReceivedMessage[], sub: SubscriptionRecord) => {
      await stillAuthenticated();
      await stream.write({
        receivedMessages: messages.map((m) => fromReceived(m, 'grpc')),
        subscriptionProperties: {
          exactlyOnceDeliveryEnabled: false,
          messageOrderingEnabled: sub.enableMessageOrdering,
        },
      });
    };
    await serveStreamingPull(service, access(context), requests, send, signal);
  };

  return [
    { protoFiles, includeDirs, service: 'google.pubsub.v1.Publisher', unary: publisher, auth },
    {
      protoFiles,
      includeDirs,
      service: 'google.pubsub.v1.Subscriber',
      unary: subscriber,
      bidi: { StreamingPull: streamingPull },
      auth,
    },
  ];
}
