import { describe, expect, it } from 'vitest';
import { unwrapSns } from '../../../src/lambda/events/index.js';
import { editableFixture, loadFixture } from './load-fixture.js';

describe('unwrapSns', () => {
  it('returns the message of the SNS JSON that SQS receives without raw message delivery', () => {
    const message = unwrapSns(loadFixture('sns-notification-s3-put.json'));
    expect(JSON.parse(message ?? '')).toEqual(loadFixture('s3-put.json'));
  });

  it('returns the message of a record of a Lambda SNS event', () => {
    const event = editableFixture('sns-lambda-event.json');
    expect(JSON.parse(unwrapSns(event.Records[0]) ?? '')).toEqual(loadFixture('s3-delete.json'));
  });

  it('returns undefined for anything that is not a notification', () => {
    const confirmation = editableFixture('sns-notification-s3-put.json');
    confirmation.Type = 'SubscriptionConfirmation';
    expect(unwrapSns(confirmation)).toBeUndefined();
    expect(unwrapSns(loadFixture('s3-put.json'))).toBeUndefined();
    expect(unwrapSns({ Type: 'Notification', Message: { not: 'a string' } })).toBeUndefined();
    expect(unwrapSns('{"Type":"Notification","Message":"x"}')).toBeUndefined();
    expect(unwrapSns(null)).toBeUndefined();
  });
});
