export {
  countManifestObjects,
  DEFAULT_MANIFEST_PART_SIZE,
  encodeManifestKey,
  listSourceKeys,
  manifestLine,
  MIN_PART_SIZE,
  uploadStream,
  writeCsvManifest,
  type CsvManifest,
  type ListSourceOptions,
  type StreamUploadResult,
  type WriteCsvManifestOptions,
} from './manifest.js';
export {
  buildCreateJobInput,
  clientRequestToken,
  createBackfillJob,
  CSV_MANIFEST_FORMAT,
  DEFAULT_PRIORITY,
  INVENTORY_MANIFEST_FORMAT,
  normalizeReportPrefix,
  type BackfillJob,
  type BackfillJobOptions,
  type BackfillManifest,
} from './create-job.js';
export { backfillPolicies, inventoryRoot, type BackfillPolicies, type BackfillPolicyOptions, type PolicyDocument, type PolicyStatement } from './policy.js';
export {
  checkAccountId,
  checkBucketName,
  ConfigurationError,
  parseFunctionArn,
  parseRoleArn,
  type IamRoleArn,
  type LambdaFunctionArn,
} from './validate.js';
