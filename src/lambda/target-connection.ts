import type { S3Client } from '@aws-sdk/client-s3';
import { createTargetClient } from '../clients/s3-clients.js';
import type { LambdaConfig } from './config.js';
import { secretLabel, type TargetCredentials, type TargetSecret } from './target-secret.js';

/**
 * The target client, built from the secret (or the local stand-in variables) on first use and
 * kept for the life of the container; rebuilt when the secret is re-read after a rotation.
 */
export class TargetConnection {
  private current: Promise<S3Client> | undefined;

  constructor(
    private readonly config: LambdaConfig,
    private readonly secret: TargetSecret | undefined,
    private readonly build: (credentials: TargetCredentials) => S3Client = (credentials) =>
      createTargetClient({
        endpoint: credentials.endpoint,
        region: config.targetRegion,
        credentials: { accessKeyId: credentials.accessKeyId, secretAccessKey: credentials.secretAccessKey },
        concurrency: config.concurrency,
        allowInsecureHttp: config.allowInsecureHttp,
        endpointSource:
          config.credentialsSource.kind === 'secret' ? `lc_endpoint_url of secret ${secretLabel(config.credentialsSource.secretId)}` : 'LC_ENDPOINT_URL',
      }),
  ) {}

  get canRefresh(): boolean {
    return this.secret !== undefined;
  }

  client(): Promise<S3Client> {
    this.current ??= this.credentials(false).then(this.build);
    this.current.catch(() => (this.current = undefined));
    return this.current;
  }

  refresh(): Promise<S3Client> {
    this.current = this.credentials(true).then(this.build);
    this.current.catch(() => (this.current = undefined));
    return this.current;
  }

  private async credentials(fresh: boolean): Promise<TargetCredentials> {
    const source = this.config.credentialsSource;
    if (source.kind === 'environment') return source;
    if (!this.secret) throw new Error('no target secret configured');
    return fresh ? this.secret.refresh() : this.secret.get();
  }
}
