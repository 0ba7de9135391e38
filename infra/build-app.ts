import type { App } from 'aws-cdk-lib';
import { readReplicatorConfig } from './config.js';
import { ReplicationStack } from './replication-stack.js';

/** Reads and validates the app's context (throws ContextError) and adds the stack to `app`. */
export function buildApp(app: App): ReplicationStack {
  const context = app.node.getAllContext() as Record<string, unknown>;
  const config = readReplicatorConfig((key) => app.node.tryGetContext(key), Object.keys(context));
  const account = process.env.CDK_DEFAULT_ACCOUNT;
  const region = process.env.CDK_DEFAULT_REGION;
  return new ReplicationStack(app, config.stackName, {
    config,
    // The account and region the CLI resolved from the credentials, when it did; otherwise an
    // environment-agnostic template (synth works offline, without credentials).
    ...(account !== undefined && region !== undefined && { env: { account, region } }),
  });
}
