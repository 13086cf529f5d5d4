// The Pub/Sub error catalogue: message limits, subscription settings, ack ids and streams.
import { type ErrorCatalog, SealroomError, type SealroomErrorOptions } from '@sealroom/core';

export const PUBSUB_ERRORS = {
  ERR_PUBSUB_MESSAGE_TOO_LARGE: {
    status: 'INVALID_ARGUMENT',
    retryable: false,
    description: 'A message, or the publish request as a whole, is larger than 10 MB; split it or shrink the data.',
  },
  ERR_PUBSUB_TOO_MANY_MESSAGES: {
    status: 'INVALID_ARGUMENT',
    retryable: false,
    description: 'A publish request carries more than 1000 messages; send smaller batches.',
  },
  ERR_PUBSUB_EMPTY_MESSAGE: {
    status: 'INVALID_ARGUMENT',
    retryable: false,
    description: 'A message has neither data nor attributes, or a publish request has no messages.',
  },
  ERR_PUBSUB_BAD_ATTRIBUTE: {
    status: 'INVALID_ARGUMENT',
    retryable: false,
    description:
      'An attribute key is empty, reserved (starts with "goog") or longer than 256 bytes, a value is longer than 1024 bytes, or a message has more than 100 attributes.',
  },
  ERR_PUBSUB_BAD_ORDERING_KEY: {
    status: 'INVALID_ARGUMENT',
    retryable: false,
    description: 'An ordering key is longer than 1024 bytes.',
  },
  ERR_PUBSUB_BAD_ACK_DEADLINE: {
    status: 'INVALID_ARGUMENT',
    retryable: false,
    description: 'An ack deadline is outside 10–600 seconds (0–600 for modifyAckDeadline, where 0 means nack).',
  },
  ERR_PUBSUB_BAD_ACK_ID: {
    status: 'INVALID_ARGUMENT',
    retryable: false,
    description: 'An ack id is malformed or belongs to another subscription; use the ack ids the server delivered.',
  },
  ERR_PUBSUB_BAD_SETTING: {
    status: 'INVALID_ARGUMENT',
    retryable: false,
    description:
      'A topic or subscription setting is out of range (retention, dead-letter attempts, retry backoff) or refers to a missing topic.',
  },
  ERR_PUBSUB_UNSUPPORTED_SETTING: {
    status: 'UNIMPLEMENTED',
    retryable: false,
    description:
      'The setting exists in Google Pub/Sub but Sealroom does not offer it (push, filters, exactly-once, BigQuery/Cloud Storage export).',
  },
  ERR_PUBSUB_STREAM_PROTOCOL: {
    status: 'INVALID_ARGUMENT',
    retryable: false,
    description:
      'A StreamingPull request broke the protocol: no subscription or deadline in the first request, or mismatched modify-deadline lists.',
  },
  ERR_PUBSUB_STREAM_CLOSED: {
    status: 'UNAVAILABLE',
    retryable: true,
    description:
      'The server closed the StreamingPull stream (shutdown, stream lifetime or client half-close); reopen it.',
  },
  ERR_PUBSUB_DETACHED: {
    status: 'FAILED_PRECONDITION',
    retryable: false,
    description: 'The subscription is detached from its topic (the topic was deleted); it delivers nothing more.',
  },
} as const satisfies ErrorCatalog<string>;

export type PubsubErrorCode = keyof typeof PUBSUB_ERRORS;

export class PubsubError extends SealroomError<PubsubErrorCode> {
  constructor(code: PubsubErrorCode, message: string, options?: SealroomErrorOptions) {
    super(PUBSUB_ERRORS, code, message, options);
  }
}
