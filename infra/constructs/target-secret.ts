import { RemovalPolicy, SecretValue } from 'aws-cdk-lib';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import type { SecretSource } from '../config.js';
import { secretArnPatternForName } from './replicator-permissions.js';

/** The fields of the Lyve Cloud secret: Seagate's sample Lambda's JSON, unchanged. */
export const SECRET_TEMPLATE = { lc_access_key: '', lc_secret_key: '', lc_endpoint_url: '' } as const;

/**
 * The Lyve Cloud secret: an existing one (by name or complete ARN), or a new one holding the
 * empty template for the user to fill in (`aws secretsmanager put-secret-value`). A created
 * secret is retained when the stack is deleted: it holds credentials someone typed in.
 */
export class TargetSecret extends Construct {
  /** What the function is told (TARGET_SECRET_ID): the name or ARN. */
  readonly secretId: string;
  /** The one resource secretsmanager:GetSecretValue is granted on. */
  readonly arnForPolicy: string;
  /** The ARN, when known (created secret, or given as an ARN). */
  readonly secretArn?: string;
  readonly created: boolean;

  constructor(scope: Construct, id: string, source: SecretSource) {
    super(scope, id);
    if (source.kind === 'create') {
      const secret = new secretsmanager.Secret(this, 'Secret', {
        ...(source.name !== undefined && { secretName: source.name }),
        description: 'Lyve Cloud access key, secret key and endpoint URL for lyve-replicator: fill in lc_access_key, lc_secret_key and lc_endpoint_url',
        // Empty strings, no credentials: the user puts the real values in after deploying.
        secretStringValue: SecretValue.unsafePlainText(JSON.stringify(SECRET_TEMPLATE)),
        removalPolicy: RemovalPolicy.RETAIN,
      });
      this.secretId = secret.secretArn;
      this.arnForPolicy = secret.secretArn;
      this.secretArn = secret.secretArn;
      this.created = true;
    } else if ('arn' in source) {
      this.secretId = source.arn;
      this.arnForPolicy = source.arn;
      this.secretArn = source.arn;
      this.created = false;
    } else {
      // Name only: the function passes the name to GetSecretValue; IAM matches on the ARN,
      // which for a secret ends in "-" and six random characters (what Secret.fromSecretNameV2
      // grants on, too).
      this.secretId = source.name;
      this.arnForPolicy = secretArnPatternForName(this, source.name);
      this.created = false;
    }
  }
}
