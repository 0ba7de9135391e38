/**
 * Least privilege of the replication function's role, checked on the synthesized template: every
 * statement of every IAM policy in the template (AWS::IAM::Policy, AWS::IAM::ManagedPolicy and
 * inline role policies) that applies to the function's role may only grant the actions below, on
 * the resources below; no wildcard action, no "*" resource, no managed policy. CDK's own
 * custom-resource role (BucketNotificationsHandler, see NOTIFICATIONS_HANDLER_ROLE) is excluded.
 */
import * as iam from 'aws-cdk-lib/aws-iam';
import { describe, expect, it } from 'vitest';
import { type AllowedAction, NOTIFICATIONS_HANDLER_ROLE, grantedActions, iamStatements, leastPrivilegeViolations, literal, render, s3Arn, synth, type Synthesized } from './support.js';

interface Case {
  name: string;
  context: Record<string, string | undefined>;
  buckets: string[];
  versioned?: boolean;
  tags?: boolean;
  kmsKeys?: string[];
  /** How the secret's ARN renders in the policy. */
  secret: (synthesized: Synthesized) => RegExp;
}

const KMS_KEY = 'arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab';
const SECRET_ARN = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:lyve-AbCdEf';
const byName = (name: string) => () =>
  new RegExp(`^arn:(\\$\\{AWS::Partition\\}|aws):secretsmanager:\\$\\{AWS::Region\\}:\\$\\{AWS::AccountId\\}:secret:${literal(name)}-\\?\\?\\?\\?\\?\\?$`);
const resolved = (synthesized: Synthesized, value: string) => render(synthesized.stack.resolve(value));

const CASES: Case[] = [
  { name: 'defaults', context: {}, buckets: ['source-a'], secret: byName('lyve-cloud/replicator') },
  {
    name: 'two buckets, deletes and tags',
    context: { sourceBuckets: 'source-a,source-b', replicateDeletes: 'true', replicateTags: 'true' },
    buckets: ['source-a', 'source-b'],
    tags: true,
    secret: byName('lyve-cloud/replicator'),
  },
  { name: 'versioned', context: { versioned: 'true' }, buckets: ['source-a'], versioned: true, secret: byName('lyve-cloud/replicator') },
  {
    name: 'versioned with tags, eventbridge, SSE-KMS sources',
    context: { versioned: 'true', replicateTags: 'true', replicateDeletes: 'true', eventPath: 'eventbridge', sourceKmsKeyArns: KMS_KEY },
    buckets: ['source-a'],
    versioned: true,
    tags: true,
    kmsKeys: [KMS_KEY],
    secret: byName('lyve-cloud/replicator'),
  },
  {
    name: 'createSecret, alarm email, reserved concurrency',
    context: { secretName: undefined, createSecret: 'true', alarmEmail: 'ops@example.com', reservedConcurrency: '10' },
    buckets: ['source-a'],
    secret: (s) => new RegExp(`^${literal(resolved(s, s.stack.secret.arnForPolicy))}$`),
  },
  { name: 'secret by ARN', context: { secretName: SECRET_ARN }, buckets: ['source-a'], secret: () => new RegExp(`^${literal(SECRET_ARN)}$`) },
];

function allowedFor(testCase: Case, synthesized: Synthesized): AllowedAction[] {
  const objects = testCase.buckets.map((bucket) => s3Arn(bucket, true));
  const queue = new RegExp(`^${literal(resolved(synthesized, synthesized.stack.queues.queue.queueArn))}$`);
  const logGroup = new RegExp(`^${literal(resolved(synthesized, synthesized.stack.replicator.logGroup.logGroupArn))}$`);
  return [
    { action: 's3:GetObject', resources: objects },
    ...(testCase.versioned ? [{ action: 's3:GetObjectVersion', resources: objects }] : []),
    ...(testCase.tags ? [{ action: 's3:GetObjectTagging', resources: objects }] : []),
    ...(testCase.tags && testCase.versioned ? [{ action: 's3:GetObjectVersionTagging', resources: objects }] : []),
    { action: 's3:ListBucket', resources: testCase.buckets.map((bucket) => s3Arn(bucket)) },
    ...(testCase.kmsKeys ? [{ action: 'kms:Decrypt', resources: testCase.kmsKeys.map((key) => new RegExp(`^${literal(key)}$`)) }] : []),
    { action: 'secretsmanager:GetSecretValue', resources: [testCase.secret(synthesized)] },
    ...['sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:GetQueueAttributes', 'sqs:ChangeMessageVisibility', 'sqs:SendMessage'].map((action) => ({ action, resources: [queue] })),
    ...['logs:CreateLogStream', 'logs:PutLogEvents'].map((action) => ({ action, resources: [logGroup] })),
  ];
}

describe('least privilege of the replication function', () => {
  describe.each(CASES)('$name', (testCase) => {
    const synthesized = synth(testCase.context);

    it('grants only allowed actions on allowed resources, no wildcards, no managed policies', () => {
      expect(leastPrivilegeViolations(synthesized.template, allowedFor(testCase, synthesized))).toEqual([]);
    });

    it('grants exactly what this configuration needs', () => {
      const expected = [
        's3:GetObject',
        's3:ListBucket',
        ...(testCase.versioned ? ['s3:GetObjectVersion'] : []),
        ...(testCase.tags ? ['s3:GetObjectTagging'] : []),
        ...(testCase.tags && testCase.versioned ? ['s3:GetObjectVersionTagging'] : []),
        ...(testCase.kmsKeys ? ['kms:Decrypt'] : []),
        'secretsmanager:GetSecretValue',
        'sqs:ReceiveMessage',
        'sqs:DeleteMessage',
        'sqs:GetQueueAttributes',
        'sqs:SendMessage',
        'logs:CreateLogStream',
        'logs:PutLogEvents',
      ].sort();
      expect(grantedActions(synthesized.template)).toEqual(expected);
      // Metrics travel as EMF log lines: no cloudwatch:PutMetricData.
      expect(grantedActions(synthesized.template).some((action) => action.startsWith('cloudwatch:'))).toBe(false);
    });
  });

  it('kms:Decrypt is granted only through S3', () => {
    const { template } = synth({ sourceKmsKeyArns: KMS_KEY });
    const kms = iamStatements(template).filter((statement) => statement.actions.includes('kms:Decrypt'));
    expect(kms).toHaveLength(1);
    expect(render(kms[0]!.raw.Condition as never)).toContain('s3.');
    expect(JSON.stringify(kms[0]!.raw.Condition)).toContain('kms:ViaService');
  });

  it.each(['s3-notifications', 'eventbridge'])('the only other role, the bucket-notifications handler\'s (%s), is scoped to the source buckets and its own logs', (eventPath) => {
    const { template } = synth({ sourceBuckets: 'source-a,source-b', eventPath });
    const others = Object.keys(template.findResources('AWS::IAM::Role')).filter((id) => NOTIFICATIONS_HANDLER_ROLE.test(id));
    expect(others).toHaveLength(1);
    expect(template.findResources('AWS::IAM::Role')[others[0]!]!.Properties.ManagedPolicyArns).toBeUndefined();
    const statements = iamStatements(template).filter((statement) => statement.roles.includes(others[0]!));
    const grants = statements.flatMap((statement) => statement.actions.map((action) => `${action} ${statement.resources.join(' ')}`));
    expect(grants.filter((grant) => grant.startsWith('s3:')).sort()).toEqual(
      ['s3:GetBucketNotification', 's3:PutBucketNotification'].flatMap((action) => ['source-a', 'source-b'].map((bucket) => `${action} arn:\${AWS::Partition}:s3:::${bucket}`)).sort(),
    );
    for (const grant of grants.filter((grant) => grant.startsWith('logs:'))) expect(grant).toMatch(/ arn:\$\{AWS::Partition\}:logs:\$\{AWS::Region\}:\$\{AWS::AccountId\}:log-group:\/aws\/lambda\/\*-BucketNotificationsHandler\*(:log-stream:\*)?$/);
  });

  it('the checker catches wildcards, "*" resources, unlisted actions and wrong resources', () => {
    const synthesized = synth(
      {},
      {
        mutate: (stack) => {
          const role = stack.replicator.role;
          // Through addToPrincipalPolicy, i.e. an AWS::IAM::Policy resource, not the inline policy.
          role.addToPrincipalPolicy(new iam.PolicyStatement({ sid: 'Bad1', actions: ['s3:*'], resources: ['arn:aws:s3:::source-a/*'] }));
          role.addToPrincipalPolicy(new iam.PolicyStatement({ sid: 'Bad2', actions: ['s3:GetObject'], resources: ['*'] }));
          role.addToPrincipalPolicy(new iam.PolicyStatement({ sid: 'Bad3', actions: ['cloudwatch:PutMetricData'], resources: ['arn:aws:cloudwatch:us-east-1:123456789012:alarm:x'] }));
          role.addToPrincipalPolicy(new iam.PolicyStatement({ sid: 'Bad4', actions: ['s3:GetObject'], resources: ['arn:aws:s3:::another-bucket/*'] }));
          role.addManagedPolicy(iam.ManagedPolicy.fromAwsManagedPolicyName('service-role/AWSLambdaBasicExecutionRole'));
        },
      },
    );
    const violations = leastPrivilegeViolations(synthesized.template, allowedFor(CASES[0]!, synthesized)).join('\n');
    expect(violations).toMatch(/Bad1.*wildcard action s3:\*/);
    expect(violations).toMatch(/Bad2.*Resource "\*"/);
    expect(violations).toMatch(/Bad3.*action cloudwatch:PutMetricData is not in the allowed list/);
    expect(violations).toMatch(/Bad4.*s3:GetObject on arn:aws:s3:::another-bucket\/\* is not allowed/);
    expect(violations).toMatch(/function role has managed policies/);
  });
});
