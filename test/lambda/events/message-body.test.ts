import { describe, expect, it } from 'vitest';
import { describeEvent, parseMessageBody, type ParsedMessage } from '../../../src/lambda/events/index.js';
import { editableFixture, fixtureText, loadFixture } from './load-fixture.js';

const sqsBodies = (): string[] => editableFixture('sqs-event.json').Records.map((r: { body: string }) => r.body);
const keysOf = (message: ParsedMessage) => (message.kind === 'tasks' ? message.records.map((r) => r.task?.key) : []);
const malformedMessage = (message: ParsedMessage) => (message.kind === 'malformed' ? message.error.message : undefined);

describe('parseMessageBody', () => {
  it('parses a plain S3 notification', () => {
    const message = parseMessageBody(fixtureText('s3-delete.json'));
    expect(message.kind).toBe('tasks');
    expect(keysOf(message)).toEqual(['a+b c', 'photos/my photo(1).jpg']);
    if (message.kind === 'tasks') expect(message.records.every((r) => r.task?.origin === 's3')).toBe(true);
  });

  it('unwraps an SNS envelope (SNS → SQS without raw delivery)', () => {
    const message = parseMessageBody(fixtureText('sns-notification-s3-put.json'));
    expect(message).toMatchObject({ kind: 'tasks', records: [{ index: 0, task: { key: 'photos/my photo(1).jpg', origin: 'sns' } }] });
  });

  it('recognises the test event, plain and inside SNS', () => {
    expect(parseMessageBody(fixtureText('s3-test-event.json'))).toEqual({ kind: 'test-event' });
    expect(parseMessageBody(fixtureText('sns-notification-test-event.json'))).toEqual({ kind: 'test-event' });
  });

  it('parses an EventBridge event forwarded to SQS', () => {
    const message = parseMessageBody(fixtureText('eventbridge-object-deleted.json'));
    // Its key "a%2Bb+c" reads two ways; the engine finds which names an object.
    expect(message).toMatchObject({
      kind: 'tasks',
      records: [
        { index: 0, task: { action: 'delete', key: 'a%2Bb+c', origin: 'eventbridge' } },
        { index: 1, task: { action: 'delete', key: 'a+b c', origin: 'eventbridge' } },
      ],
    });
  });

  it('keeps the per-record outcomes of a notification with a bad record', () => {
    const message = parseMessageBody(fixtureText('s3-mixed-records.json'));
    if (message.kind !== 'tasks') throw new Error(`expected tasks, got ${message.kind}`);
    expect(message.records.map((r) => (r.task ? 'task' : r.ignored ? 'ignored' : 'error'))).toEqual([
      'task',
      'task',
      'error',
      'task',
      'ignored',
      'task',
    ]);
  });

  it('returns the content of a continuation message', () => {
    expect(parseMessageBody('{"lyveReplicatorContinuation":{"step":3}}')).toEqual({ kind: 'continuation', value: { step: 3 } });
  });

  it('says what was expected when the body is not JSON', () => {
    const message = malformedMessage(parseMessageBody('this is not JSON'));
    expect(message).toMatch(/^message body is not JSON \(expected an S3 event notification/);
    expect(message).toContain('"this is not JSON"');
  });

  it('says what was expected, and what came, for JSON of an unknown shape', () => {
    expect(malformedMessage(parseMessageBody('{"hello":"world"}'))).toBe(
      'unrecognised message body: expected an S3 event notification ({"Records": [...]}), an s3:TestEvent, an SNS Notification ' +
        'wrapping one, an EventBridge event from aws.s3, or a lyveReplicatorContinuation message; got an object with keys [hello]',
    );
    expect(malformedMessage(parseMessageBody('[1,2]'))).toMatch(/got an array$/);
    expect(malformedMessage(parseMessageBody('42'))).toMatch(/got a number$/);
    const ec2 = editableFixture('eventbridge-object-created.json');
    ec2.source = 'aws.ec2';
    expect(malformedMessage(parseMessageBody(JSON.stringify(ec2)))).toMatch(/got an EventBridge event from "aws\.ec2"$/);
  });

  it('reports a bad SNS message as malformed, naming the SNS layer', () => {
    const envelope = editableFixture('sns-notification-s3-put.json');
    envelope.Message = 'not json';
    expect(malformedMessage(parseMessageBody(JSON.stringify(envelope)))).toMatch(/^SNS Message is not JSON/);
    envelope.Message = '{"foo":1}';
    expect(malformedMessage(parseMessageBody(JSON.stringify(envelope)))).toMatch(/^unrecognised SNS Message: .*got an object with keys \[foo\]$/);
  });

  it('handles every body of an SQS event holding several kinds of message', () => {
    expect(describeEvent(loadFixture('sqs-event.json'))).toBe('sqs');
    expect(sqsBodies().map((body) => parseMessageBody(body).kind)).toEqual([
      'tasks',
      'tasks',
      'tasks',
      'test-event',
      'test-event',
      'continuation',
      'malformed',
      'malformed',
    ]);
    expect(sqsBodies().slice(0, 3).map((body) => keysOf(parseMessageBody(body)))).toEqual([
      ['photos/my photo(1).jpg'],
      ['a+b c', 'photos/my photo(1).jpg'],
      ['photos/my+photo%281%29.jpg', 'photos/my photo(1).jpg'], // EventBridge: both readings
    ]);
  });
});

describe('describeEvent', () => {
  it.each([
    ['sqs-event.json', 'sqs'],
    ['s3-put.json', 's3'],
    ['s3-mixed-records.json', 's3'],
    ['sns-lambda-event.json', 'sns'],
    ['eventbridge-object-created.json', 'eventbridge'],
    ['batch-operations-1.0.json', 'batch-operations'],
    ['batch-operations-2.0.json', 'batch-operations'],
    ['s3-test-event.json', 's3-test-event'],
  ])('%s is %s', (fixture, kind) => {
    expect(describeEvent(loadFixture(fixture))).toBe(kind);
  });

  it('routes S3 and SNS events by their recognisable records, so a malformed one fails alone', () => {
    expect(describeEvent({ Records: [] })).toBe('s3');
    expect(describeEvent({ Records: [{ eventSource: 'aws:s3' }, { eventSource: 'aws:other' }, null] })).toBe('s3');
    expect(describeEvent({ Records: [{ EventSource: 'aws:sns' }, {}] })).toBe('sns');
  });

  it('recognises continuations and says unknown for anything else', () => {
    expect(describeEvent({ lyveReplicatorContinuation: {} })).toBe('continuation');
    expect(describeEvent({ Records: [{ eventSource: 'aws:sqs' }, { eventSource: 'aws:s3' }] })).toBe('unknown');
    expect(describeEvent({ Records: [{ eventSource: 'aws:sqs' }, { eventSource: 'aws:other' }] })).toBe('unknown');
    expect(describeEvent(loadFixture('sns-notification-s3-put.json'))).toBe('unknown');
    expect(describeEvent('hello')).toBe('unknown');
    expect(describeEvent(null)).toBe('unknown');
  });
});
