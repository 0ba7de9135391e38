/**
 * Recognising what arrived: the body of one SQS message (parseMessageBody) and the top-level
 * Lambda event of a direct invocation (describeEvent).
 */
import { isBatchOperationsEvent } from './batch-operations.js';
import { isEventBridgeEvent, isS3EventBridgeEvent, parseEventBridgeEvent } from './eventbridge.js';
import { describeShape, isJsonObject } from './fields.js';
import { isS3TestEvent, parseS3NotificationRecords } from './s3-notification.js';
import { unwrapSns } from './sns.js';
import { MalformedEventError, type RecordOutcome } from './types.js';

/** Top-level field marking a message the handler queued to continue its own work. */
export const CONTINUATION_FIELD = 'lyveReplicatorContinuation';

export type ParsedMessage =
  | { kind: 'tasks'; records: RecordOutcome[] }
  | { kind: 'test-event' }
  /** `value` is the content of the `lyveReplicatorContinuation` field (defined by the handler). */
  | { kind: 'continuation'; value: unknown }
  | { kind: 'malformed'; error: MalformedEventError };

export type LambdaEventKind =
  | 'sqs'
  | 's3'
  | 'sns'
  | 'eventbridge'
  | 'batch-operations'
  | 'continuation'
  | 's3-test-event'
  | 'unknown';

const EXPECTED =
  'expected an S3 event notification ({"Records": [...]}), an s3:TestEvent, an SNS Notification wrapping one, ' +
  `an EventBridge event from aws.s3, or a ${CONTINUATION_FIELD} message`;

/**
 * Parses an SQS message body: a plain S3 notification, an SNS envelope (SNS → SQS without
 * raw message delivery) around a notification or test event, an EventBridge S3 event, or a
 * continuation. Anything else is `malformed`, with a message saying what was expected.
 */
export function parseMessageBody(body: string): ParsedMessage {
  const outer = parseJson(body, 'message body');
  if (outer instanceof MalformedEventError) return { kind: 'malformed', error: outer };
  if (isJsonObject(outer) && CONTINUATION_FIELD in outer) return { kind: 'continuation', value: outer[CONTINUATION_FIELD] };

  const snsMessage = unwrapSns(outer);
  if (snsMessage === undefined) return parseEvent(outer, 's3', 'message body');
  const inner = parseJson(snsMessage, 'SNS Message');
  if (inner instanceof MalformedEventError) return { kind: 'malformed', error: inner };
  return parseEvent(inner, 'sns', 'SNS Message');
}

/** What kind of event invoked the Lambda (direct invocation, or through an event source mapping). */
export function describeEvent(event: unknown): LambdaEventKind {
  if (!isJsonObject(event)) return 'unknown';
  if (CONTINUATION_FIELD in event) return 'continuation';
  if (isS3TestEvent(event)) return 's3-test-event';
  if (Array.isArray(event.Records)) return recordsKind(event.Records);
  if (isBatchOperationsEvent(event)) return 'batch-operations';
  if (isS3EventBridgeEvent(event)) return 'eventbridge';
  return 'unknown';
}

function parseEvent(value: unknown, notificationOrigin: 's3' | 'sns', what: string): ParsedMessage {
  if (isS3TestEvent(value)) return { kind: 'test-event' };
  if (isJsonObject(value) && Array.isArray(value.Records)) {
    return { kind: 'tasks', records: parseS3NotificationRecords(value, notificationOrigin) };
  }
  if (isS3EventBridgeEvent(value)) return { kind: 'tasks', records: parseEventBridgeEvent(value) };
  const detail = isEventBridgeEvent(value) ? `an EventBridge event from ${JSON.stringify(value.source)}` : describeShape(value);
  return { kind: 'malformed', error: new MalformedEventError(`unrecognised ${what}: ${EXPECTED}; got ${detail}`) };
}

function parseJson(text: string, what: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    const start = text.length > 80 ? `${text.slice(0, 80)}...` : text;
    return new MalformedEventError(`${what} is not JSON (${EXPECTED}): ${JSON.stringify(start)}`);
  }
}

/**
 * The kind of a `Records` event (`eventSource` for SQS and S3, `EventSource` for SNS). S3 and SNS
 * events are routed by their recognisable records, so that one malformed record fails alone
 * (its parser names it) instead of the whole event; an empty list is an S3 event with nothing
 * to do. An SQS batch must be all SQS: Lambda builds those itself.
 */
function recordsKind(records: unknown[]): LambdaEventKind {
  if (records.length === 0) return 's3';
  const kinds = new Set(
    records.map((record) => {
      const source = isJsonObject(record) ? (record.eventSource ?? record.EventSource) : undefined;
      return source === 'aws:sqs' ? 'sqs' : source === 'aws:s3' ? 's3' : source === 'aws:sns' ? 'sns' : 'unknown';
    }),
  );
  const known = [...kinds].filter((kind) => kind !== 'unknown');
  const [only] = known;
  if (known.length !== 1 || only === undefined) return 'unknown';
  return only === 'sqs' && kinds.has('unknown') ? 'unknown' : only;
}
