/**
 * The IAM policies a Batch Operations backfill needs, scoped to the resources of one setup:
 *
 * - the job role (assumed by batchoperations.s3.amazonaws.com): invoke the replication function,
 *   read the manifest (for an S3 Inventory, manifest.json and its data files), write the
 *   completion report — the shape of AWS's "Granting permissions for Batch Operations" examples
 *   (https://docs.aws.amazon.com/AmazonS3/latest/userguide/batch-ops-iam-role-policies.html);
 * - the person or pipeline running `lyve-replicator backfill`: list the source, write the
 *   manifest (or read the inventory's manifest.json), create the job and pass the role to it,
 *   then confirm and watch the job.
 *
 * No action is a wildcard. The one `"Resource": "*"` is s3:CreateJob's: that action has no
 * resource type in IAM (Service Authorization Reference, Amazon S3), so it cannot be scoped by
 * ARN; iam:PassRole, which CreateJob depends on, is scoped to the one job role. The account ID
 * comes from the role ARN, so sts:GetCallerIdentity is never called.
 */
import { normalizeReportPrefix } from './create-job.js';
import { bucketArn, checkBucketName, objectArn, parseFunctionArn, parseRoleArn } from './validate.js';

export interface PolicyStatement {
  Sid: string;
  Effect: 'Allow';
  Action: string | string[];
  Resource?: string | string[];
  Principal?: { Service: string };
}

export interface PolicyDocument {
  Version: '2012-10-17';
  Statement: PolicyStatement[];
}

export interface BackfillPolicies {
  /** Trust policy of the job role: lets S3 Batch Operations assume it. */
  jobRoleTrustPolicy: PolicyDocument;
  /** Permissions policy of the job role. */
  jobRolePolicy: PolicyDocument;
  /** Identity policy for whoever runs `lyve-replicator backfill --batch-operations`. */
  operatorPolicy: PolicyDocument;
}

export interface BackfillPolicyOptions {
  /** Buckets listed into a generated CSV manifest. */
  sourceBuckets: string[];
  manifestBucket: string;
  /**
   * The generated CSV manifest's key, or the inventory's manifest.json key. Without it, the
   * manifest statements cover the whole manifest bucket.
   */
  manifestKey?: string;
  /** Default 'csv'. */
  manifestKind?: 'csv' | 'inventory';
  reportBucket: string;
  /** Report prefix; S3 writes the report under `<prefix>/job-<job-id>/`. */
  reportPrefix?: string;
  functionArn: string;
  roleArn: string;
  /** Region the job runs in (for the job ARNs); default the function's region. */
  region?: string;
}

export function backfillPolicies(options: BackfillPolicyOptions): BackfillPolicies {
  const fn = parseFunctionArn(options.functionArn, 'functionArn');
  const role = parseRoleArn(options.roleArn, 'roleArn');
  const partition = fn.partition;
  const kind = options.manifestKind ?? 'csv';
  const sourceBuckets = [...new Set(options.sourceBuckets.map((bucket) => checkBucketName(bucket, 'source bucket')))];
  const manifestBucket = checkBucketName(options.manifestBucket, 'manifest bucket');
  const reportBucket = checkBucketName(options.reportBucket, 'report bucket');
  const region = options.region ?? fn.region;
  const accountId = role.accountId;

  // What the job reads: the CSV manifest object itself, or the inventory's manifest.json and
  // its data files, which live under the same config-ID folder:
  // destination-prefix/source-bucket/config-ID/{YYYY-MM-DDTHH-MMZ/manifest.json, data/*.csv.gz}.
  const manifestObject = options.manifestKey
    ? objectArn(partition, manifestBucket, options.manifestKey)
    : objectArn(partition, manifestBucket, '*');
  const jobReads =
    kind === 'inventory' && options.manifestKey
      ? objectArn(partition, manifestBucket, `${inventoryRoot(options.manifestKey)}*`)
      : manifestObject;
  const prefix = normalizeReportPrefix(options.reportPrefix ?? '');
  const reportObjects = objectArn(partition, reportBucket, prefix ? `${prefix}/job-*` : 'job-*');
  const bucketsOfJob = [...new Set([bucketArn(partition, manifestBucket), bucketArn(partition, reportBucket)])];

  const jobRoleTrustPolicy: PolicyDocument = {
    Version: '2012-10-17',
    Statement: [
      {
        Sid: 'S3BatchOperationsAssumesRole',
        Effect: 'Allow',
        Principal: { Service: 'batchoperations.s3.amazonaws.com' },
        Action: 'sts:AssumeRole',
      },
    ],
  };

  const jobRolePolicy: PolicyDocument = {
    Version: '2012-10-17',
    Statement: [
      { Sid: 'InvokeReplicationFunction', Effect: 'Allow', Action: 'lambda:InvokeFunction', Resource: fn.arn },
      { Sid: 'ReadManifest', Effect: 'Allow', Action: ['s3:GetObject', 's3:GetObjectVersion'], Resource: jobReads },
      { Sid: 'WriteCompletionReport', Effect: 'Allow', Action: 's3:PutObject', Resource: reportObjects },
      { Sid: 'LocateManifestAndReportBuckets', Effect: 'Allow', Action: 's3:GetBucketLocation', Resource: bucketsOfJob },
    ],
  };

  const operatorStatements: PolicyStatement[] = [];
  if (kind === 'csv') {
    if (sourceBuckets.length > 0) {
      operatorStatements.push({
        Sid: 'ListSourceForManifest',
        Effect: 'Allow',
        Action: 's3:ListBucket',
        Resource: sourceBuckets.map((bucket) => bucketArn(partition, bucket)),
      });
    }
    operatorStatements.push({
      Sid: 'WriteManifest',
      Effect: 'Allow',
      Action: ['s3:PutObject', 's3:AbortMultipartUpload'],
      Resource: manifestObject,
    });
  } else {
    operatorStatements.push({
      Sid: 'ReadInventoryManifest',
      Effect: 'Allow',
      Action: 's3:GetObject',
      Resource: options.manifestKey ? manifestObject : objectArn(partition, manifestBucket, '*manifest.json'),
    });
  }
  operatorStatements.push(
    // s3:CreateJob supports no resource type, so "*" is the only Resource IAM accepts for it.
    { Sid: 'CreateBatchOperationsJob', Effect: 'Allow', Action: 's3:CreateJob', Resource: '*' },
    { Sid: 'PassJobRole', Effect: 'Allow', Action: 'iam:PassRole', Resource: role.arn },
    {
      Sid: 'ConfirmAndWatchJob',
      Effect: 'Allow',
      Action: ['s3:DescribeJob', 's3:UpdateJobStatus'],
      Resource: `arn:${partition}:s3:${region}:${accountId}:job/*`,
    },
  );

  return { jobRoleTrustPolicy, jobRolePolicy, operatorPolicy: { Version: '2012-10-17', Statement: operatorStatements } };
}

/** `a/src/config/2024-01-01T00-00Z/manifest.json` → `a/src/config/` (the inventory configuration's folder). */
export function inventoryRoot(manifestJsonKey: string): string {
  const segments = manifestJsonKey.split('/');
  // Drop "manifest.json" and the timestamp folder when there is one.
  const keep = segments.length >= 3 ? segments.slice(0, -2) : segments.slice(0, -1);
  return keep.length > 0 ? `${keep.join('/')}/` : '';
}
