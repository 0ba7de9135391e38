import { describe, expect, it } from 'vitest';
import {
  MalformedEventError,
  classifyS3EventName,
  isS3TestEvent,
  parseS3NotificationRecords,
  tasksFromS3Notification,
} from '../../../src/lambda/events/index.js';
import { editableFixture, loadFixture } from './load-fixture.js';

const keyOf = (key: string) => {
  const event = editableFixture('s3-put.json');
  event.Records[0].s3.object.key = key;
  return tasksFromS3Notification(event)[0]?.key;
};

describe('tasksFromS3Notification', () => {
  it('turns a put into a replicate task with every field normalized', () => {
    expect(tasksFromS3Notification(loadFixture('s3-put.json'))).toEqual([
      {
        action: 'replicate',
        bucket: 'amzn-s3-demo-bucket',
        key: 'photos/my photo(1).jpg',
        versionId: '096fKKXTRTtl3on89fVO.nfljtsv6qko',
        eTag: 'd41d8cd98f00b204e9800998ecf8427e',
        size: 1024,
        sequencer: '0055AED6DCD90281E5',
        eventTime: new Date('2024-05-01T12:00:00.000Z'),
        eventName: 'ObjectCreated:Put',
        origin: 's3',
      },
    ]);
  });

  it('makes a task of every record, not only the first', () => {
    const tasks = tasksFromS3Notification(loadFixture('s3-delete.json'));
    expect(tasks.map((t) => [t.action, t.key, t.eventName, t.deleteMarker])).toEqual([
      ['delete', 'a+b c', 'ObjectRemoved:Delete', undefined],
      ['delete', 'photos/my photo(1).jpg', 'ObjectRemoved:DeleteMarkerCreated', true],
    ]);
    expect(tasks[0]).not.toHaveProperty('size');
    expect(tasks[0]).not.toHaveProperty('eTag');
  });

  it('handles multipart uploads and tagging events', () => {
    const [multipart] = tasksFromS3Notification(loadFixture('s3-multipart.json'));
    expect(multipart).toMatchObject({ action: 'replicate', key: 'videos/🎬 clip.mp4', eTag: '4af981f98d22a0b9979da24b259e5e42-12', size: 201326592 });
    const tagging = tasksFromS3Notification(loadFixture('s3-tagging.json'));
    expect(tagging.map((t) => [t.action, t.key, t.eventName])).toEqual([
      ['tags', 'reports/100% done.csv', 'ObjectTagging:Put'],
      ['tags', 'reports/100% done.csv', 'ObjectTagging:Delete'],
    ]);
  });

  it('decodes keys as form-URL-encoded UTF-8', () => {
    expect(keyOf('photos/my+photo%281%29.jpg')).toBe('photos/my photo(1).jpg');
    expect(keyOf('a%2Bb+c')).toBe('a+b c');
    expect(keyOf('emoji/%F0%9F%93%B7+shot.png')).toBe('emoji/📷 shot.png');
    expect(keyOf('100%25')).toBe('100%');
    expect(keyOf('%2525')).toBe('%25');
    expect(keyOf('caf%C3%A9/na%C3%AFve')).toBe('café/naïve');
  });

  it('gives no tasks for the s3:TestEvent', () => {
    const testEvent = loadFixture('s3-test-event.json');
    expect(isS3TestEvent(testEvent)).toBe(true);
    expect(isS3TestEvent(loadFixture('s3-put.json'))).toBe(false);
    expect(tasksFromS3Notification(testEvent)).toEqual([]);
  });

  it('refuses the whole event when any record is malformed', () => {
    expect(() => tasksFromS3Notification(loadFixture('s3-mixed-records.json'))).toThrow(
      /1 of 6 notification records are malformed; first: Records\[2\]\.s3\.object\.key is not a valid URL-encoded UTF-8 key/,
    );
  });

  it('names what was expected when the event is not a notification', () => {
    expect(() => tasksFromS3Notification({ hello: 'world' })).toThrow(MalformedEventError);
    expect(() => tasksFromS3Notification({ hello: 'world' })).toThrow(
      'expected an S3 event notification ({"Records": [...]}), got an object with keys [hello]',
    );
    expect(() => tasksFromS3Notification('Records')).toThrow(/got a string/);
    expect(() => tasksFromS3Notification(null)).toThrow(/got null/);
  });
});

describe('parseS3NotificationRecords', () => {
  it('reports each record on its own: a malformed record affects only itself', () => {
    const outcomes = parseS3NotificationRecords(loadFixture('s3-mixed-records.json'));
    expect(outcomes.map((o) => o.index)).toEqual([0, 1, 2, 3, 4, 5]);
    expect(outcomes[0]?.task).toMatchObject({ action: 'replicate', key: 'emoji/📷 shot.png', eventName: 'ObjectCreated:Copy' });
    expect(outcomes[1]?.task).toMatchObject({ action: 'replicate', eventName: 'ObjectRestore:Completed' });
    expect(outcomes[2]?.task).toBeUndefined();
    expect(outcomes[2]?.error).toBeInstanceOf(MalformedEventError);
    expect(outcomes[2]?.error?.message).toBe('Records[2].s3.object.key is not a valid URL-encoded UTF-8 key: "broken%E0%A4%A"');
    expect(outcomes[3]?.task).toMatchObject({ action: 'delete', key: 'logs/2020/01/app.log', eventName: 'LifecycleExpiration:Delete' });
    expect(outcomes[4]?.ignored).toMatch(/^LifecycleTransition: /);
    expect(outcomes[5]?.task).toMatchObject({ action: 'replicate', key: 'uploads/%+&.txt', eventName: 'ObjectCreated:Post' });
  });

  it('labels tasks that arrived through SNS', () => {
    expect(parseS3NotificationRecords(loadFixture('s3-put.json'), 'sns')[0]?.task?.origin).toBe('sns');
  });

  it('says which field of which record is wrong', () => {
    const event = editableFixture('s3-delete.json');
    delete event.Records[1].s3.bucket.name;
    event.Records.push('not a record');
    const messages = parseS3NotificationRecords(event).map((o) => o.error?.message);
    expect(messages).toEqual([
      undefined,
      'Records[1].s3.bucket.name must be a non-empty string',
      'Records[2] must be an object, got a string',
    ]);
  });

  it('checks the envelope of each record', () => {
    const event = editableFixture('s3-put.json');
    const good = structuredClone(event.Records[0]);
    event.Records = [
      { ...good, eventVersion: '3.0' },
      { ...good, eventSource: 'aws:sqs' },
      { ...good, eventTime: 'yesterday' },
      { ...good, s3: { ...good.s3, object: { ...good.s3.object, size: -1 } } },
      { ...good, eventName: 's3:ObjectCreated:Put', eventVersion: '2.2' },
    ];
    const outcomes = parseS3NotificationRecords(event);
    expect(outcomes.map((o) => o.error?.message)).toEqual([
      'Records[0].eventVersion is "3.0"; only 2.x is understood',
      'Records[1].eventSource is "aws:sqs", expected "aws:s3"',
      'Records[2].eventTime is not a valid time: "yesterday"',
      'Records[3].s3.object.size must be a non-negative integer',
      undefined,
    ]);
    expect(outcomes[4]?.task?.eventName).toBe('ObjectCreated:Put');
  });

  it('strips quotes from ETags and accepts a null versionId', () => {
    const event = editableFixture('s3-put.json');
    event.Records[0].s3.object.eTag = '"abc"';
    event.Records[0].s3.object.versionId = null;
    const [task] = tasksFromS3Notification(event);
    expect(task?.eTag).toBe('abc');
    expect(task).not.toHaveProperty('versionId');
  });
});

describe('classifyS3EventName', () => {
  it.each([
    ['ObjectCreated:Put', { action: 'replicate' }],
    ['ObjectCreated:Post', { action: 'replicate' }],
    ['ObjectCreated:Copy', { action: 'replicate' }],
    ['ObjectCreated:CompleteMultipartUpload', { action: 'replicate' }],
    ['ObjectRemoved:Delete', { action: 'delete' }],
    ['ObjectRemoved:DeleteMarkerCreated', { action: 'delete', deleteMarker: true }],
    ['LifecycleExpiration:Delete', { action: 'delete' }],
    ['LifecycleExpiration:DeleteMarkerCreated', { action: 'delete', deleteMarker: true }],
    ['ObjectTagging:Put', { action: 'tags' }],
    ['ObjectTagging:Delete', { action: 'tags' }],
    ['s3:ObjectCreated:Put', { action: 'replicate' }],
    ['ObjectRestore:Completed', { action: 'replicate' }],
  ])('%s → %o', (name, expected) => {
    expect(classifyS3EventName(name)).toEqual(expected);
  });

  it.each([
    'ObjectRestore:Post',
    'ObjectRestore:Delete',
    'ObjectAcl:Put',
    'LifecycleTransition',
    'IntelligentTiering',
    'Replication:OperationFailedReplication',
    'ReducedRedundancyLostObject',
    'SomethingNew:Happened',
  ])('%s is ignored with a reason', (name) => {
    const result = classifyS3EventName(name);
    expect(result).toHaveProperty('ignored');
    expect('ignored' in result && result.ignored.startsWith(`${name}: `)).toBe(true);
  });
});
