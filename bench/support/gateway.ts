import { startRgw, type S3Credentials } from '../../test/support/rgw.js';

export interface Gateway {
  endpoint: string;
  source: S3Credentials;
  target: S3Credentials;
  stop(): Promise<void>;
}

/** A Ceph RGW with a source and a target user: the one in RGW_* variables, else a fresh one. */
export async function gateway(): Promise<Gateway> {
  const env = process.env;
  if (env.RGW_ENDPOINT) {
    return {
      endpoint: env.RGW_ENDPOINT,
      source: { accessKeyId: env.RGW_SOURCE_ACCESS_KEY_ID!, secretAccessKey: env.RGW_SOURCE_SECRET_ACCESS_KEY! },
      target: { accessKeyId: env.RGW_TARGET_ACCESS_KEY_ID!, secretAccessKey: env.RGW_TARGET_SECRET_ACCESS_KEY! },
      stop: async () => {},
    };
  }
  const rgw = await startRgw();
  return { endpoint: rgw.endpoint, source: await rgw.createUser('source'), target: await rgw.createUser('target'), stop: () => rgw.stop() };
}
