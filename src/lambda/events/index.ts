/** Pure parsing of every event shape the Lambda receives into replication tasks. No I/O. */
export { MalformedEventError } from './types.js';
export type { RecordOutcome, ReplicationTask, TaskAction } from './types.js';
export {
  classifyS3EventName,
  isS3TestEvent,
  parseS3NotificationRecords,
  tasksFromS3Notification,
} from './s3-notification.js';
export type { S3EventClassification } from './s3-notification.js';
export { isEventBridgeEvent, isS3EventBridgeEvent, parseEventBridgeEvent, taskFromEventBridge } from './eventbridge.js';
export type { EventBridgeParseOptions } from './eventbridge.js';
export { unwrapSns } from './sns.js';
export {
  MAX_RESULT_STRING_BYTES,
  batchOperationsResponse,
  isBatchOperationsEvent,
  parseBatchOperationsEvent,
} from './batch-operations.js';
export type {
  BatchOperationsEvent,
  BatchOperationsResponse,
  BatchOperationsTaskResult,
  BatchOperationsTaskV1,
  BatchOperationsTaskV2,
  BatchResultCode,
  ParsedBatchOperationsEvent,
} from './batch-operations.js';
export { CONTINUATION_FIELD, describeEvent, parseMessageBody } from './message-body.js';
export type { LambdaEventKind, ParsedMessage } from './message-body.js';
