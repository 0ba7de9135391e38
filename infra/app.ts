/**
 * The CDK app: `npx cdk deploy -c sourceBuckets=… -c targetBucket=… -c targetRegion=… -c secretName=…`
 * (cdk.json at the repository root runs this file). See README.md, "Deploy".
 */
import { App } from 'aws-cdk-lib';
import { buildApp } from './build-app.js';
import { ContextError } from './config.js';

function main(): void {
  const app = new App();
  try {
    buildApp(app);
  } catch (error) {
    if (error instanceof ContextError) {
      // The message names every bad context key; a stack trace would only bury it.
      console.error(error.message);
      process.exit(1);
    }
    throw error;
  }
  app.synth();
}

main();
