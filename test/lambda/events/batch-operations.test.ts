import { Buffer } from 'node:buffer';
import { describe, expect, it } from 'vitest';
import {
  MAX_RESULT_STRING_BYTES,
  MalformedEventError,
  batchOperationsResponse,
  parseBatchOperationsEvent,
  type BatchOperationsEvent,
} from '../../../src/lambda/events/index.js';
import { editableFixture, loadFixture } from './load-fixture.js';

describe('parseBatchOperationsEvent', () => {
  it('reads schema 1.0: bucket from s3BucketArn, decoded keys, no user arguments', () => {
    const event = loadFixture('batch-operations-1.0.json') as BatchOperationsEvent;
    expect(parseBatchOperationsEvent(event)).toEqual({
      invocationId: 'YXNkbGZqYWRmaiBhc2RmdW9hZHNmZGpmaGFzbGtkaGZza2RmaAo',
      invocationSchemaVersion: '1.0',
      userArguments: {},
      tasks: [
        {
          taskId: 'dGFza2lkZ29lc2hlcmUK',
          task: {
            action: 'replicate',
            bucket: 'amzn-s3-demo-bucket',
            key: 'photos/my photo(1).jpg',
            versionId: '1',
            eventName: 'BatchOperations',
            origin: 'batch-operations',
          },
        },
        {
          taskId: 'dGFza2lkZ29lc2hlcmUL',
          task: {
            action: 'replicate',
            bucket: 'amzn-s3-demo-bucket',
            key: 'emoji/📷 shot.png',
            eventName: 'BatchOperations',
            origin: 'batch-operations',
          },
        },
      ],
    });
  });

  it('reads schema 2.0: bucket from s3Bucket, job.userArguments', () => {
    const parsed = parseBatchOperationsEvent(loadFixture('batch-operations-2.0.json'));
    expect(parsed.invocationSchemaVersion).toBe('2.0');
    expect(parsed.userArguments).toEqual({ targetPrefix: 'mirror/', dryRun: 'false' });
    expect(parsed.tasks.map((t) => [t.taskId, t.task?.bucket, t.task?.key, t.task?.versionId])).toEqual([
      ['y5R3a2lkZ29lc2hlcmUK', 'amzn-s3-demo-bucket', 'a+b c', undefined],
      ['y5R3a2lkZ29lc2hlcmUL', 'amzn-s3-demo-bucket', 'reports/100% done.csv', 'IYV3p45BT0ac8hjHg1houSdS1a.Mro8e'],
    ]);
  });

  it('takes the bucket field that belongs to the schema version', () => {
    const v1WithName = editableFixture('batch-operations-1.0.json');
    v1WithName.tasks[0] = { taskId: 't1', s3Key: 'k', s3VersionId: null, s3Bucket: 'b' };
    expect(parseBatchOperationsEvent(v1WithName).tasks[0]?.error?.message).toBe('tasks[0].s3BucketArn must be a non-empty string');

    const v2WithArn = editableFixture('batch-operations-2.0.json');
    v2WithArn.tasks[1] = { taskId: 't2', s3Key: 'k', s3VersionId: null, s3BucketArn: 'arn:aws:s3:::b' };
    expect(parseBatchOperationsEvent(v2WithArn).tasks[1]?.error?.message).toBe('tasks[1].s3Bucket must be a non-empty string');
  });

  it('reports a malformed task without failing the others', () => {
    const event = editableFixture('batch-operations-1.0.json');
    event.tasks[0].s3Key = 'bad%E0%A4%A';
    event.tasks[1].s3BucketArn = 'amzn-s3-demo-bucket';
    event.tasks.push({ taskId: 'ok', s3Key: 'fine', s3VersionId: null, s3BucketArn: 'arn:aws:s3:::amzn-s3-demo-bucket' });
    const { tasks } = parseBatchOperationsEvent(event);
    expect(tasks.map((t) => t.error?.message)).toEqual([
      'tasks[0].s3Key is not a valid URL-encoded UTF-8 key: "bad%E0%A4%A"',
      'tasks[1].s3BucketArn is not an S3 bucket ARN: "amzn-s3-demo-bucket"',
      undefined,
    ]);
    expect(tasks[2]?.task?.key).toBe('fine');
  });

  it('refuses invocations it cannot answer, saying why', () => {
    expect(() => parseBatchOperationsEvent(loadFixture('s3-put.json'))).toThrow(
      'expected an S3 Batch Operations invocation (invocationSchemaVersion, invocationId, job, tasks), got an object with keys [Records]',
    );
    const v3 = editableFixture('batch-operations-2.0.json');
    v3.invocationSchemaVersion = '3.0';
    expect(() => parseBatchOperationsEvent(v3)).toThrow('invocationSchemaVersion "3.0" is not supported (expected 1.0 or 2.0)');
    const noTaskId = editableFixture('batch-operations-2.0.json');
    delete noTaskId.tasks[1].taskId;
    expect(() => parseBatchOperationsEvent(noTaskId)).toThrow('tasks[1].taskId must be a non-empty string');
    const badArgs = editableFixture('batch-operations-2.0.json');
    badArgs.job.userArguments = { n: 1 };
    expect(() => parseBatchOperationsEvent(badArgs)).toThrow(MalformedEventError);
  });
});

describe('batchOperationsResponse', () => {
  it('has the documented shape and echoes the invocation', () => {
    const parsed = parseBatchOperationsEvent(loadFixture('batch-operations-2.0.json'));
    expect(
      batchOperationsResponse(
        parsed,
        [
          { taskId: 'y5R3a2lkZ29lc2hlcmUK', resultCode: 'Succeeded', resultString: 'copied 5 bytes' },
          { taskId: 'y5R3a2lkZ29lc2hlcmUL', resultCode: 'TemporaryFailure', resultString: 'SlowDown' },
        ],
        'PermanentFailure',
      ),
    ).toEqual({
      invocationSchemaVersion: '2.0',
      treatMissingKeysAs: 'PermanentFailure',
      invocationId: 'Jr3s8KZqYWRmaiBhc2RmdW9hZHNmZGpmaGFzbGtkaGZza2RmaAo',
      results: [
        { taskId: 'y5R3a2lkZ29lc2hlcmUK', resultCode: 'Succeeded', resultString: 'copied 5 bytes' },
        { taskId: 'y5R3a2lkZ29lc2hlcmUL', resultCode: 'TemporaryFailure', resultString: 'SlowDown' },
      ],
    });
  });

  it('echoes schema 1.0 and leaves unanswered tasks to treatMissingKeysAs', () => {
    const parsed = parseBatchOperationsEvent(loadFixture('batch-operations-1.0.json'));
    const response = batchOperationsResponse(parsed, [], 'TemporaryFailure');
    expect(response).toEqual({
      invocationSchemaVersion: '1.0',
      treatMissingKeysAs: 'TemporaryFailure',
      invocationId: 'YXNkbGZqYWRmaiBhc2RmdW9hZHNmZGpmaGFzbGtkaGZza2RmaAo',
      results: [],
    });
  });

  it('keeps result strings within 1 KB of UTF-8 without splitting characters', () => {
    const parsed = parseBatchOperationsEvent(loadFixture('batch-operations-1.0.json'));
    const long = '📷'.repeat(400) + 'tail';
    const [result] = batchOperationsResponse(
      parsed,
      [{ taskId: 'dGFza2lkZ29lc2hlcmUK', resultCode: 'PermanentFailure', resultString: long }],
      'PermanentFailure',
    ).results;
    expect(Buffer.byteLength(result?.resultString ?? '')).toBeLessThanOrEqual(MAX_RESULT_STRING_BYTES);
    expect(result?.resultString.endsWith('📷…')).toBe(true);
    const exact = 'x'.repeat(MAX_RESULT_STRING_BYTES);
    expect(
      batchOperationsResponse(parsed, [{ taskId: 'dGFza2lkZ29lc2hlcmUK', resultCode: 'Succeeded', resultString: exact }], 'Succeeded')
        .results[0]?.resultString,
    ).toBe(exact);
  });

  it('refuses results for tasks that are not in the invocation', () => {
    const parsed = parseBatchOperationsEvent(loadFixture('batch-operations-1.0.json'));
    expect(() => batchOperationsResponse(parsed, [{ taskId: 'nope', resultCode: 'Succeeded', resultString: '' }], 'Succeeded')).toThrow(
      'result for unknown Batch Operations task "nope"',
    );
  });
});
