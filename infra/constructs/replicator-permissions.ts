import { ArnFormat, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type { IConstruct } from 'constructs';

export interface ReplicatorPermissionsProps {
  sourceBuckets: readonly string[];
  /** ARN (or ARN pattern, `name-??????`) of the one Lyve Cloud secret. */
  secretArnForPolicy: string;
  queueArn: string;
  /** ARN of the function's log group (as CloudFormation returns it: ends in `:*`). */
  logGroupArn: string;
  replicateTags: boolean;
  versioned: boolean;
  sourceKmsKeyArns: readonly string[];
}

/**
 * Every permission the replication function gets, and why. No wildcard action, no `*` resource;
 * test/infra/least-privilege.test.ts checks the synthesized template against this list.
 *
 * Not granted on purpose:
 * - cloudwatch:PutMetricData: metrics go out as CloudWatch Embedded Metric Format lines in the
 *   function's log, which CloudWatch Logs turns into metrics; only log writes are needed.
 * - anything on the target: Lyve Cloud is reached with the keys in the secret, not with IAM.
 * - sqs:ChangeMessageVisibility and sqs:GetQueueUrl, which CDK's SqsEventSource would add: the
 *   Lambda poller needs only ReceiveMessage, DeleteMessage and GetQueueAttributes (AWS's
 *   AWSLambdaSQSQueueExecutionRole), and the function knows its queue's URL from its environment.
 * - secretsmanager:DescribeSecret, which Secret.grantRead would add: Powertools Parameters only
 *   calls GetSecretValue.
 * - logs:CreateLogGroup: the stack creates the log group.
 */
export function replicatorPolicyStatements(scope: IConstruct, props: ReplicatorPermissionsProps): iam.PolicyStatement[] {
  const partition = Stack.of(scope).partition;
  const bucketArn = (bucket: string) => `arn:${partition}:s3:::${bucket}`;
  const statements: iam.PolicyStatement[] = [];

  // HeadObject and GetObject (whole or ranged) on the source: s3:GetObject. With a version id
  // (versioned buckets: every read is pinned to the version HEAD saw) the action is
  // s3:GetObjectVersion instead; tags likewise s3:GetObjectTagging / s3:GetObjectVersionTagging.
  const objectActions = ['s3:GetObject'];
  if (props.versioned) objectActions.push('s3:GetObjectVersion');
  if (props.replicateTags) objectActions.push('s3:GetObjectTagging');
  if (props.replicateTags && props.versioned) objectActions.push('s3:GetObjectVersionTagging');
  statements.push(
    new iam.PolicyStatement({
      sid: 'ReadSourceObjects',
      actions: objectActions,
      resources: props.sourceBuckets.map((bucket) => `${bucketArn(bucket)}/*`),
    }),
  );

  // s3:ListBucket on the buckets themselves (not their objects), and no listing is ever made:
  // without it S3 answers a HEAD or GET of a missing key with 403 AccessDenied instead of 404
  // NoSuchKey (to hide which keys exist). The engine must tell "deleted since the event" (skip,
  // or delete the replica when deletes are on) from "not allowed to read" (a configuration
  // error that fails the object), so it needs the 404.
  statements.push(
    new iam.PolicyStatement({
      sid: 'TellMissingSourceObjects',
      actions: ['s3:ListBucket'],
      resources: props.sourceBuckets.map(bucketArn),
    }),
  );

  if (props.sourceKmsKeyArns.length > 0) {
    // SSE-KMS source objects: S3 decrypts with the caller's permission on the key. Only through
    // S3 in this region.
    statements.push(
      new iam.PolicyStatement({
        sid: 'DecryptSourceObjects',
        actions: ['kms:Decrypt'],
        resources: [...props.sourceKmsKeyArns],
        conditions: { StringEquals: { 'kms:ViaService': `s3.${Stack.of(scope).region}.amazonaws.com` } },
      }),
    );
  }

  // The Lyve Cloud keys and endpoint (read at cold start, cached 5 minutes, re-read once when
  // the target rejects the keys).
  statements.push(
    new iam.PolicyStatement({
      sid: 'ReadTargetSecret',
      actions: ['secretsmanager:GetSecretValue'],
      resources: [props.secretArnForPolicy],
    }),
  );

  // The SQS event source polls with the function's role; SendMessage is for continuation
  // messages (copies too large for one invocation carry on in the next).
  statements.push(
    new iam.PolicyStatement({
      sid: 'ConsumeAndContinue',
      actions: ['sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:GetQueueAttributes', 'sqs:SendMessage'],
      resources: [props.queueArn],
    }),
  );

  // The function's own log group: JSON logs and the EMF metrics lines.
  statements.push(
    new iam.PolicyStatement({
      sid: 'WriteLogs',
      actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
      resources: [props.logGroupArn],
    }),
  );

  return statements;
}

/** The policy ARN of a secret known by name only: Secrets Manager appends `-` and 6 characters. */
export function secretArnPatternForName(scope: IConstruct, name: string): string {
  return Stack.of(scope).formatArn({
    service: 'secretsmanager',
    resource: 'secret',
    resourceName: `${name}-??????`,
    arnFormat: ArnFormat.COLON_RESOURCE_NAME,
  });
}
