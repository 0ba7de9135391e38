/** What the playground prints once it is ready: where everything is and how to use it. */
import { MAX_RECEIVE_COUNT, QUEUE_NAMES } from './queues.js';
import { CREDENTIALS, REGION } from './servers.js';
import type { Playground } from './playground.js';
import { BUCKETS } from './playground.js';
import { PART_SIZE_MIB } from './lambda.js';

/** The endpoint lines (also what the tests read: "source  http://127.0.0.1:PORT"). */
export function endpointLines(pg: Playground): string[] {
  const note = (s: { portFallback: boolean }) => (s.portFallback ? '  (requested port busy: random port)' : '');
  return [
    `source  ${pg.source.endpoint}  bucket "${BUCKETS.source}"  (the AWS S3 side)${note(pg.source)}`,
    `target  ${pg.target.endpoint}  bucket "${BUCKETS.target}"  (the Lyve Cloud side)${note(pg.target)}`,
  ];
}

export function instructions(pg: Playground): string[] {
  const src = pg.source.endpoint;
  const dst = pg.target.endpoint;
  const rcloneRemote = (name: string, endpoint: string, keys: { accessKeyId: string; secretAccessKey: string }) => [
    `    [${name}]`,
    '    type = s3',
    '    provider = Other',
    `    endpoint = ${endpoint}`,
    `    access_key_id = ${keys.accessKeyId}`,
    `    secret_access_key = ${keys.secretAccessKey}`,
    '    force_path_style = true',
  ];
  return [
    'lyve-replicator playground: the real Lambda handler, replicating between two local S3 servers',
    '',
    ...endpointLines(pg).map((line) => `  ${line}`),
    `  keys    ${CREDENTIALS.source.accessKeyId} / ${CREDENTIALS.source.secretAccessKey} (any keys work; nothing leaves this machine)`,
    `  events  source bucket → SQS "${QUEUE_NAMES.events}" (dead letters after ${MAX_RECEIVE_COUNT} receives: "${QUEUE_NAMES.deadLetter}") → handler`,
    `          PART_SIZE_MIB=${PART_SIZE_MIB}, REPLICATE_DELETES=true; objects over ${PART_SIZE_MIB} MiB are copied in parts`,
    '',
    'Try it with the AWS CLI, in another terminal:',
    `  export AWS_ACCESS_KEY_ID=${CREDENTIALS.source.accessKeyId} AWS_SECRET_ACCESS_KEY=${CREDENTIALS.source.secretAccessKey} AWS_DEFAULT_REGION=${REGION}`,
    '  export AWS_REQUEST_CHECKSUM_CALCULATION=when_required   # newer CLIs: no aws-chunked uploads to non-AWS servers',
    `  aws s3 cp ./file s3://${BUCKETS.source}/some/key --endpoint-url ${src} --region ${REGION}`,
    `  aws s3 ls s3://${BUCKETS.target} --recursive --endpoint-url ${dst} --region ${REGION}`,
    `  aws s3 rm s3://${BUCKETS.source}/some/key --endpoint-url ${src} --region ${REGION}`,
    '',
    'or rclone (files up to 11 MiB: the embedded server takes no larger request, and rclone',
    'uploads larger files in ways it mishandles; aws s3 cp works for any size), with these remotes',
    'in rclone.conf ("rclone config file" shows where):',
    ...rcloneRemote('playground-source', src, CREDENTIALS.source),
    ...rcloneRemote('playground-target', dst, CREDENTIALS.target),
    `  env -u AWS_CA_BUNDLE rclone copy ./dir playground-source:${BUCKETS.source}/dir`,
    `  env -u AWS_CA_BUNDLE rclone ls playground-target:${BUCKETS.target}`,
    '',
    'Everything is in memory and gone when you stop: Ctrl-C.',
  ];
}
