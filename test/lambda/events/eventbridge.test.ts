import { describe, expect, it } from 'vitest';
import {
  MalformedEventError,
  isS3EventBridgeEvent,
  parseEventBridgeEvent,
  taskFromEventBridge,
} from '../../../src/lambda/events/index.js';
import { editableFixture, loadFixture } from './load-fixture.js';

const withDetailType = (detailType: string) => {
  const event = editableFixture('eventbridge-object-created.json');
  event['detail-type'] = detailType;
  return event;
};

describe('taskFromEventBridge', () => {
  it('maps Object Created to a replicate task with every field', () => {
    expect(taskFromEventBridge(loadFixture('eventbridge-object-created.json'), { keyEncoding: 'form-urlencoded' })).toEqual({
      action: 'replicate',
      bucket: 'amzn-s3-demo-bucket1',
      key: 'photos/my photo(1).jpg',
      versionId: 'IYV3p45BT0ac8hjHg1houSdS1a.Mro8e',
      eTag: 'b1946ac92492d2347c6235b4d2611184',
      size: 5,
      sequencer: '617f08299329d189',
      eventTime: new Date('2021-11-12T00:00:00Z'),
      eventName: 'Object Created',
      origin: 'eventbridge',
    });
  });

  it('maps Object Deleted to delete and notes delete markers', () => {
    const task = taskFromEventBridge(loadFixture('eventbridge-object-deleted.json'), { keyEncoding: 'form-urlencoded' });
    expect(task).toMatchObject({ action: 'delete', key: 'a+b c', eventName: 'Object Deleted', deleteMarker: true });
    expect(task).not.toHaveProperty('size');

    const permanent = editableFixture('eventbridge-object-deleted.json');
    permanent.detail['deletion-type'] = 'Permanently Deleted';
    expect(taskFromEventBridge(permanent)).not.toHaveProperty('deleteMarker');
  });

  it('maps tag changes to tags', () => {
    expect(taskFromEventBridge(withDetailType('Object Tags Added'))?.action).toBe('tags');
    expect(taskFromEventBridge(withDetailType('Object Tags Deleted'))?.action).toBe('tags');
  });

  it.each([
    'Object Restore Initiated',
    'Object Restore Expired',
    'Object Storage Class Changed',
    'Object Access Tier Changed',
    'Object ACL Updated',
  ])('ignores %s', (detailType) => {
    expect(taskFromEventBridge(withDetailType(detailType))).toBeUndefined();
    expect(parseEventBridgeEvent(withDetailType(detailType))).toEqual([
      {
        index: 0,
        ignored: `${detailType}: EventBridge detail type not handled`,
        // For the log line, as the event names them.
        bucket: 'amzn-s3-demo-bucket1',
        key: 'photos/my+photo%281%29.jpg',
      },
    ]);
  });

  it('reads a key that may be form-URL-encoded both ways, unless told which', () => {
    const event = editableFixture('eventbridge-object-created.json');
    event.detail.object.key = 'reports/100%25+done%F0%9F%93%B7.csv';
    expect(parseEventBridgeEvent(event).map((outcome) => outcome.task?.key)).toEqual([
      'reports/100%25+done%F0%9F%93%B7.csv',
      'reports/100% done📷.csv',
    ]);
    expect(taskFromEventBridge(event, { keyEncoding: 'form-urlencoded' })?.key).toBe('reports/100% done📷.csv');
    expect(taskFromEventBridge(event, { keyEncoding: 'raw' })?.key).toBe('reports/100%25+done%F0%9F%93%B7.csv');
    event.detail.object.key = 'raw/2023-08-08T14:03:40.532432.zip';
    expect(parseEventBridgeEvent(event).map((outcome) => outcome.task?.key)).toEqual(['raw/2023-08-08T14:03:40.532432.zip']);
    event.detail.object.key = '100%.txt'; // no valid encoding: only the key itself
    expect(parseEventBridgeEvent(event).map((outcome) => outcome.task?.key)).toEqual(['100%.txt']);
  });

  it('replicates an archived object once its restore completes', () => {
    expect(taskFromEventBridge(withDetailType('Object Restore Completed'))?.action).toBe('replicate');
  });

  it('rejects events from other sources and events missing fields, naming them', () => {
    const other = editableFixture('eventbridge-object-created.json');
    other.source = 'aws.ec2';
    expect(isS3EventBridgeEvent(other)).toBe(false);
    expect(() => taskFromEventBridge(other)).toThrow('EventBridge event source is "aws.ec2", expected "aws.s3"');

    const noBucket = editableFixture('eventbridge-object-created.json');
    delete noBucket.detail.bucket;
    expect(() => taskFromEventBridge(noBucket)).toThrow('detail.bucket must be an object');

    const badKey = editableFixture('eventbridge-object-created.json');
    badKey.detail.object.key = '%E0%A4%A';
    expect(() => taskFromEventBridge(badKey, { keyEncoding: 'form-urlencoded' })).toThrow(MalformedEventError);
    expect(parseEventBridgeEvent(badKey, { keyEncoding: 'form-urlencoded' })[0]!.error?.message).toBe(
      'detail.object.key is not a valid URL-encoded UTF-8 key: "%E0%A4%A"',
    );

    expect(() => taskFromEventBridge({ Records: [] })).toThrow(
      'expected an EventBridge event (source, detail-type, detail), got an object with keys [Records]',
    );
  });
});
