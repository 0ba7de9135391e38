/**
 * Helpers for the infra tests: synthesize the stack in-process from context (with cdk.json's
 * feature flags, as the CLI would), and walk IAM policy statements.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { afterAll } from 'vitest';
import { buildApp } from '../../infra/build-app.js';
import { REPO_ROOT } from '../../infra/constructs/replicator-function.js';
import type { ReplicationStack } from '../../infra/replication-stack.js';

/** The context of cdk.json (feature flags): the in-process app must build what the CLI builds. */
export const CDK_JSON_CONTEXT = (JSON.parse(readFileSync(join(REPO_ROOT, 'cdk.json'), 'utf8')) as { context?: Record<string, unknown> }).context ?? {};

/** Cloud assemblies of the test file that imports this, removed after it. */
const OUT_ROOT = mkdtempSync(join(tmpdir(), 'lyve-replicator-cdk-'));
afterAll(() => rmSync(OUT_ROOT, { recursive: true, force: true }));

/** The smallest valid context. */
export const BASE_CONTEXT: Record<string, string> = {
  sourceBuckets: 'source-a',
  targetBucket: 'lyve-target',
  targetRegion: 'us-east-1',
  secretName: 'lyve-cloud/replicator',
};

export interface Synthesized {
  stack: ReplicationStack;
  template: Template;
}

/**
 * Builds the stack from `context` (on top of BASE_CONTEXT unless `base: false`) and synthesizes
 * it. Asset bundling is skipped unless `bundle`: esbuild then runs for real (~1 s).
 */
export function synth(
  context: Record<string, unknown> = {},
  options: { base?: boolean; bundle?: boolean; /** Changes the stack before it is synthesized. */ mutate?: (stack: ReplicationStack) => void } = {},
): Synthesized {
  const app = new App({
    outdir: mkdtempSync(join(OUT_ROOT, 'app-')),
    context: {
      ...CDK_JSON_CONTEXT,
      ...(options.bundle ? {} : { 'aws:cdk:bundling-stacks': [] }),
      ...(options.base === false ? {} : BASE_CONTEXT),
      ...context,
    },
  });
  const stack = buildApp(app);
  options.mutate?.(stack);
  return { stack, template: Template.fromStack(stack) };
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/**
 * Renders a CloudFormation value as a readable string: `{Ref: X}` → `${X}`,
 * `{Fn::GetAtt: [X, Arn]}` → `${X.Arn}`, `Fn::Join` joined, `Fn::Sub` as written. Other
 * intrinsics are rendered as JSON, which no pattern below matches.
 */
export function render(value: Json): string {
  if (typeof value === 'string') return value;
  if (value && typeof value === 'object' && !Array.isArray(value)) {
    const ref = value.Ref;
    if (typeof ref === 'string') return `\${${ref}}`;
    const getAtt = value['Fn::GetAtt'];
    if (Array.isArray(getAtt)) return `\${${getAtt.map((part) => render(part)).join('.')}}`;
    const join = value['Fn::Join'];
    if (Array.isArray(join) && typeof join[0] === 'string' && Array.isArray(join[1])) return join[1].map(render).join(join[0]);
    const sub = value['Fn::Sub'];
    if (typeof sub === 'string') return sub;
  }
  return JSON.stringify(value);
}

export interface StatementRef {
  /** Where it is: `LogicalId` of an AWS::IAM::Policy, or `Role/PolicyName` for an inline policy. */
  where: string;
  /** The logical ids of the roles it applies to. */
  roles: string[];
  effect: string;
  actions: string[];
  notActions: string[];
  resources: string[];
  notResources: string[];
  raw: Record<string, Json>;
}

const asArray = (value: Json | undefined): Json[] => (value === undefined ? [] : Array.isArray(value) ? value : [value]);

/**
 * Every IAM statement of every identity policy in the template: AWS::IAM::Policy and
 * AWS::IAM::ManagedPolicy resources (with the roles they attach to), and the inline Policies of
 * every AWS::IAM::Role.
 */
export function iamStatements(template: Template): StatementRef[] {
  const resources = template.toJSON().Resources as Record<string, { Type: string; Properties?: Record<string, Json> }>;
  const out: StatementRef[] = [];
  const roleIds = (list: Json | undefined) =>
    asArray(list).map((role) => (role && typeof role === 'object' && !Array.isArray(role) && typeof role.Ref === 'string' ? role.Ref : render(role)));
  const add = (where: string, roles: string[], document: Json | undefined) => {
    const doc = document as { Statement?: Json } | undefined;
    for (const statement of asArray(doc?.Statement) as Array<Record<string, Json>>) {
      out.push({
        where,
        roles,
        effect: String(statement.Effect),
        actions: asArray(statement.Action).map(render),
        notActions: asArray(statement.NotAction).map(render),
        resources: asArray(statement.Resource).map(render),
        notResources: asArray(statement.NotResource).map(render),
        raw: statement,
      });
    }
  };
  for (const [id, resource] of Object.entries(resources)) {
    const props = resource.Properties ?? {};
    if (resource.Type === 'AWS::IAM::Policy' || resource.Type === 'AWS::IAM::ManagedPolicy') {
      add(id, roleIds(props.Roles), props.PolicyDocument);
      if (asArray(props.Users).length > 0 || asArray(props.Groups).length > 0) {
        throw new Error(`${id} attaches to users or groups: this stack creates none`);
      }
    }
    if (resource.Type === 'AWS::IAM::Role') {
      for (const policy of asArray(props.Policies) as Array<Record<string, Json>>) add(`${id}/${render(policy.PolicyName ?? '')}`, [id], policy.PolicyDocument);
    }
  }
  return out;
}

/** The logical id of the replication function's role. */
export function functionRoleId(template: Template): string {
  // The one function whose environment names a target bucket (CDK's custom-resource handler is
  // a function too).
  const functions = template.findResources('AWS::Lambda::Function', { Properties: { Environment: { Variables: { TARGET_BUCKET: Match.anyValue() } } } });
  const entries = Object.values(functions) as Array<{ Properties: { Role: { 'Fn::GetAtt': [string, string] } } }>;
  if (entries.length !== 1) throw new Error(`expected one replication function, found ${entries.length}`);
  return entries[0]!.Properties.Role['Fn::GetAtt'][0];
}

/**
 * The role of CDK's S3 bucket notifications handler (a Lambda-backed custom resource that calls
 * PutBucketNotification on the imported source buckets at deploy time). The stack gives it, so
 * that CDK attaches no managed policy (AWSLambdaBasicExecutionRole: logs on every resource); it
 * is checked on its own terms below: these actions only, no wildcard action, no `*` resource.
 */
export const NOTIFICATIONS_HANDLER_ROLE = /^SourceEventsNotificationsHandlerRole[0-9A-F]{8}$/;
const NOTIFICATIONS_HANDLER_ACTIONS = new Set(['s3:PutBucketNotification', 's3:GetBucketNotification', 'logs:CreateLogGroup', 'logs:CreateLogStream', 'logs:PutLogEvents']);

export interface AllowedAction {
  action: string;
  /** Every resource of a statement granting this action must match one of these. */
  resources: RegExp[];
}

/**
 * Fails (returns the list of violations) when any statement in any identity policy attached to
 * the function's role has a wildcard action, a `*` resource, an action not in `allowed`, or a
 * resource the action is not allowed on; or when a role other than the function's and CDK's
 * own custom-resource roles exists; or when the function's role has managed policies attached.
 */
export function leastPrivilegeViolations(template: Template, allowed: readonly AllowedAction[]): string[] {
  const violations: string[] = [];
  const roleId = functionRoleId(template);
  const roles = template.findResources('AWS::IAM::Role') as Record<string, { Properties: Record<string, Json> }>;
  for (const [id, role] of Object.entries(roles)) {
    if (id === roleId) continue;
    if (!NOTIFICATIONS_HANDLER_ROLE.test(id)) {
      violations.push(`unexpected role ${id}: only the function's role and the notifications handler's are expected`);
    } else if (asArray(role.Properties.ManagedPolicyArns).length > 0) {
      violations.push(`notifications handler role has managed policies ${JSON.stringify(role.Properties.ManagedPolicyArns)}`);
    }
  }
  const functionRole = roles[roleId];
  if (!functionRole) return [...violations, `function role ${roleId} not found`];
  if (asArray(functionRole.Properties.ManagedPolicyArns).length > 0) {
    violations.push(`function role has managed policies ${JSON.stringify(functionRole.Properties.ManagedPolicyArns)}: their statements are not in the template and cannot be checked`);
  }
  if (functionRole.Properties.PermissionsBoundary !== undefined) violations.push('function role has a permissions boundary: not expected');
  const trust = JSON.stringify(functionRole.Properties.AssumeRolePolicyDocument);
  if (trust !== JSON.stringify({ Statement: [{ Action: 'sts:AssumeRole', Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' } }], Version: '2012-10-17' })) {
    violations.push(`function role trust policy is not exactly lambda.amazonaws.com: ${trust}`);
  }

  for (const statement of iamStatements(template)) {
    const unknownRoles = statement.roles.filter((role) => role !== roleId && !NOTIFICATIONS_HANDLER_ROLE.test(role));
    if (unknownRoles.length > 0) violations.push(`${statement.where} attaches to unexpected roles ${unknownRoles.join(', ')}`);
    if (statement.roles.some((role) => NOTIFICATIONS_HANDLER_ROLE.test(role)) && statement.effect === 'Allow') {
      for (const action of statement.actions) if (!NOTIFICATIONS_HANDLER_ACTIONS.has(action)) violations.push(`${statement.where}: notifications handler granted ${action}`);
      for (const resource of statement.resources) if (resource === '*') violations.push(`${statement.where}: notifications handler granted Resource "*"`);
    }
    if (!statement.roles.includes(roleId)) continue;
    const at = `${statement.where} ${JSON.stringify(statement.raw.Sid ?? '')}`;
    if (statement.effect !== 'Allow') continue; // a Deny only narrows
    if (statement.notActions.length > 0) violations.push(`${at}: NotAction grants everything else`);
    if (statement.notResources.length > 0) violations.push(`${at}: NotResource grants everything else`);
    if (statement.resources.length === 0) violations.push(`${at}: no Resource`);
    for (const action of statement.actions) {
      if (action.includes('*')) violations.push(`${at}: wildcard action ${action}`);
      const rule = allowed.find((candidate) => candidate.action === action);
      if (!rule) {
        violations.push(`${at}: action ${action} is not in the allowed list`);
        continue;
      }
      for (const resource of statement.resources) {
        if (!rule.resources.some((pattern) => pattern.test(resource))) violations.push(`${at}: ${action} on ${resource} is not allowed (allowed: ${rule.resources.join(', ')})`);
      }
    }
    for (const resource of statement.resources) if (resource === '*') violations.push(`${at}: Resource "*"`);
  }
  return violations;
}

/** The actions granted to the function's role, sorted. */
export function grantedActions(template: Template): string[] {
  const roleId = functionRoleId(template);
  const actions = iamStatements(template)
    .filter((statement) => statement.roles.includes(roleId) && statement.effect === 'Allow')
    .flatMap((statement) => statement.actions);
  return [...new Set(actions)].sort();
}

/** Escapes a literal for a RegExp. */
export const literal = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** The ARN of an S3 bucket (or `/*` of its objects) as rendered. */
export const s3Arn = (bucket: string, objects = false): RegExp => new RegExp(`^arn:(\\$\\{AWS::Partition\\}|aws):s3:::${literal(bucket)}${objects ? '/\\*' : ''}$`);
