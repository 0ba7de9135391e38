#!/usr/bin/env python3
"""The method of Seagate's sample "S3 Replication to Lyve Cloud using AWS Lambda", reproduced
faithfully for bench/run.ts: one invocation per S3 event, object after object.

Per event, as the sample's lambda_handler does:
  - read only Records[0]; unquote_plus the key; skip objects over 10 GB;
  - create a fresh source client (boto3.client('s3')) and a fresh target Session + client;
  - download_file the object to <tmp>/<uuid4 hex> (boto3's default TransferConfig);
  - upload_file it to the target bucket (default TransferConfig; no metadata, no Content-Type);
  - never delete the temp file.

Differences, all in the sample's favour: the target credentials come from LC_* variables
instead of a Secrets Manager call per invocation, and the source client is given the local
endpoint explicitly (Debian's boto3 1.26 predates AWS_ENDPOINT_URL_S3).

  python3 bench/original-sample.py EVENTS.json TMPDIR
    EVENTS.json: a JSON list of S3 events ({"Records": [...]}), one invocation each
    env: AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (source), SOURCE_ENDPOINT_URL,
         TARGET_BUCKET, REGION, LC_ACCESS_KEY, LC_SECRET_KEY, LC_ENDPOINT_URL
Prints one JSON line: {"invocations": N, "copied": N, "skipped": N}.
"""
import json
import logging
import os
import sys
import urllib.parse
import uuid

import boto3

log = logging.getLogger()
log.setLevel(logging.INFO)

TMP = sys.argv[2]


def lambda_handler(event, context):
    region_name = os.environ['REGION']
    target_bucket = os.environ['TARGET_BUCKET']
    # The sample reads these three from the Secrets Manager secret on every invocation.
    data = {
        'lc_access_key': os.environ['LC_ACCESS_KEY'],
        'lc_secret_key': os.environ['LC_SECRET_KEY'],
        'lc_endpoint_url': os.environ['LC_ENDPOINT_URL'],
    }

    # Get the bucket and object key from the Event (the first record only, as in the sample)
    source_bucket = event['Records'][0]['s3']['bucket']['name']
    source_key = urllib.parse.unquote_plus(event['Records'][0]['s3']['object']['key'])
    source_size = event['Records'][0]['s3']['object']['size']

    log.info('Source size {:d}'.format(source_size))

    # The sample skips objects over 10 GB (Lambda's /tmp limit).
    if source_size > 10737418240:
        log.info('Object: {} size {:d} larger than 10GB limit, so skipping'.format(source_key, source_size))
        return 'skipped'

    source_s3_client = boto3.client('s3', endpoint_url=os.environ['SOURCE_ENDPOINT_URL'])

    s3_session = boto3.Session(aws_access_key_id=data['lc_access_key'],
                               aws_secret_access_key=data['lc_secret_key'],
                               region_name=region_name)
    target_s3_client = s3_session.client('s3', endpoint_url=data['lc_endpoint_url'])

    source_download = os.path.join(TMP, uuid.uuid4().hex)
    source_s3_client.download_file(source_bucket, source_key, source_download)
    target_s3_client.upload_file(source_download, target_bucket, source_key)
    return 'copied'


def main():
    with open(sys.argv[1]) as f:
        events = json.load(f)
    results = {'invocations': 0, 'copied': 0, 'skipped': 0}
    for event in events:
        results[lambda_handler(event, None)] += 1
        results['invocations'] += 1
    print(json.dumps(results))


if __name__ == '__main__':
    main()
