import { SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { isMultipartCheckpoint, type MultipartCheckpoint } from '../engine/checkpoint.js';
import { CONTINUATION_FIELD } from './events/index.js';
import { MalformedEventError, type ReplicationTask } from './events/types.js';

/**
 * A copy too large for one invocation continues in the next: the handler sends this message
 * to its own queue, and the invocation that receives it resumes the multipart upload.
 */
export interface Continuation {
  task: ReplicationTask;
  checkpoint: MultipartCheckpoint;
  /** How many invocations this copy has used so far. */
  invocations: number;
}

export function continuationBody(continuation: Continuation): string {
  return JSON.stringify({ [CONTINUATION_FIELD]: continuation });
}

/** Checks the value of a continuation message's field (see events/message-body.ts). */
export function parseContinuation(value: unknown): Continuation {
  const v = value as Partial<Continuation> & Record<string, unknown>;
  const task = v?.task as Partial<ReplicationTask> | undefined;
  if (!task || typeof task.bucket !== 'string' || typeof task.key !== 'string' || !isMultipartCheckpoint(v.checkpoint)) {
    throw new MalformedEventError(
      `continuation message must carry "task" {bucket, key} and a multipart "checkpoint"; got ${JSON.stringify(Object.keys(v ?? {}))}`,
    );
  }
  return {
    task: {
      ...(task as ReplicationTask),
      ...(typeof task.eventTime === 'string' && { eventTime: new Date(task.eventTime) }),
    },
    checkpoint: v.checkpoint,
    invocations: typeof v.invocations === 'number' ? v.invocations : 1,
  };
}

export async function sendContinuation(sqs: SQSClient, queueUrl: string, continuation: Continuation): Promise<void> {
  await sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: continuationBody(continuation) }));
}
