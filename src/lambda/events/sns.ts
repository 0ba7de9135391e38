/** SNS notification envelopes around S3 events. */
import { isJsonObject } from './fields.js';

/**
 * The inner message of an SNS notification, or undefined when `value` is not one. Accepts
 * the record of a Lambda SNS event (`{ EventSource: "aws:sns", Sns: { Type, Message } }`) and
 * the SNS JSON that SQS receives from a subscription without raw message delivery
 * (`{ Type: "Notification", Message, TopicArn, ... }`). Subscription confirmations and other
 * SNS message types are not notifications.
 */
export function unwrapSns(value: unknown): string | undefined {
  if (!isJsonObject(value)) return undefined;
  const envelope = value.EventSource === 'aws:sns' && isJsonObject(value.Sns) ? value.Sns : value;
  return envelope.Type === 'Notification' && typeof envelope.Message === 'string' ? envelope.Message : undefined;
}
