import { Token } from 'cdktf';
import { Construct } from 'constructs';
import { DataOciIdentityRegions } from './.gen/oci/data-oci-identity-regions/index.js';
import { DataOciIdentityTenancy } from './.gen/oci/data-oci-identity-tenancy/index.js';
import { IdentityDynamicGroup } from './.gen/oci/identity-dynamic-group/index.js';
import { IdentityPolicy } from './.gen/oci/identity-policy/index.js';
import { IdentityTag } from './.gen/oci/identity-tag/index.js';
import { IdentityTagNamespace } from './.gen/oci/identity-tag-namespace/index.js';
import { OciProvider } from './.gen/oci/provider/index.js';
import { address } from './refs.js';
import { TimeSleep, type TimeProvider } from './time.js';
import type { Variables } from './variables.js';

export interface IamProps {
  readonly vars: Variables;
  readonly tenancyId: string;
  readonly compartmentId: string;
  readonly namePrefix: string;
  readonly providerSettings: Record<string, unknown>;
  readonly time: TimeProvider;
}

/** The calls for which OCI requires OBJECT_CREATE *and* OBJECT_OVERWRITE (policy reference, "objects"). */
export const MULTIPART_OPERATIONS = ['CreateMultipartUpload', 'UploadPart', 'CommitMultipartUpload'] as const;

export const SINK_ROLE_TAG = 'role';
export const SINK_ROLE_VALUE = 'sink';
/** The OCI Monitoring namespace the agent publishes its figures under (agent/daemon/monitoring.ts). */
export const AGENT_METRICS_NAMESPACE = 'vtap_archiver';

/**
 * How long to wait before using what was just created in the home region. Public reports show
 * "400 Failed to validate tags: TagNamespace ... does not exist" and "400 Invalid tags" when a
 * new defined tag is used at once in another region, and IAM policies take a while to apply.
 */
export const TAG_PROPAGATION = '90s';
export const POLICY_PROPAGATION = '60s';

/**
 * What the sinks' expiry sweep needs (agent/vtaps/expiry.ts, given the filter's OCID, so no VTAP
 * reads): GetCaptureFilter and UpdateCaptureFilter. OCI's policy reference for Core Services
 * (https://docs.oracle.com/en-us/iaas/Content/Identity/Reference/corepolicyreference.htm, resource
 * type capture-filters): `read` = CAPTURE_FILTER_READ (GetCaptureFilter); `use` = READ +
 * CAPTURE_FILTER_UPDATE, CAPTURE_FILTER_ATTACH, CAPTURE_FILTER_DETACH (UpdateCaptureFilter). So `use`,
 * narrowed to the two permissions. The reference names no target variable for one capture filter,
 * so the grant covers the capture filters of the stack's compartment.
 */
export function captureFilterExpiryStatement(group: string, compartment: string): string {
  return `Allow dynamic-group ${group} to use capture-filters in compartment id ${compartment} where any {request.permission = 'CAPTURE_FILTER_READ', request.permission = 'CAPTURE_FILTER_UPDATE'}`;
}

/**
 * Least-privilege identity for the sinks, created in the home region (identity writes go there).
 * - A defined tag `<prefix>.role = sink` set only by the sink instance configuration, and a dynamic
 *   group matching exactly that tag in this compartment: demo sources and the jump host are not in it.
 * - The sinks may create new objects and inspect (ListObjects, HeadObject) objects in this one
 *   bucket. OBJECT_OVERWRITE only for the three multipart calls (OCI requires it there), so a plain
 *   PutObject cannot replace an archive. No OBJECT_READ, OBJECT_DELETE or BUCKET_READ: sinks cannot
 *   read back or delete archives, nor list (BUCKET_READ) or abort (OBJECT_DELETE) multipart
 *   uploads; the bucket's lifecycle rule aborts stale multipart uploads instead. For hard
 *   immutability (a multipart commit could still replace an object), set a retention rule.
 * - With `agent_metrics`, the sinks may post metrics, in the agent's own namespace only.
 * - With `capture_filter_expiry`, the sinks may read and update capture filters in this compartment
 *   (the expiry sweep: GetCaptureFilter, UpdateCaptureFilter on the filter the stack names), and
 *   nothing else of them: no list, attach, detach, create or delete, no VTAPs.
 * - Object Storage itself may manage this bucket's objects, which lifecycle rules require.
 * - A customer key gets its own policy, attached where the key lives (a statement may only name
 *   the policy's compartment or one below it), and the bucket waits for it.
 * Statements name the bucket by the variable, not the resource, so the policies need not wait for
 * the bucket (which, with a customer key, must wait for them).
 */
export class Iam extends Construct {
  readonly tagKey: string;
  readonly tagNamespace: IdentityTagNamespace;
  readonly tag: IdentityTag;
  /** Users of the defined tag (the sink instance configuration) depend on this. */
  readonly tagWait: TimeSleep;
  readonly dynamicGroup: IdentityDynamicGroup;
  readonly policy: IdentityPolicy;
  readonly kmsPolicy: IdentityPolicy;
  /** Users of the sinks' and the service's permissions (lifecycle rules, sinks) depend on this. */
  readonly policyWait: TimeSleep;
  /** The bucket depends on this: with a customer key, Object Storage must be allowed to use it first. */
  readonly kmsPolicyWait: TimeSleep;

  constructor(scope: Construct, id: string, props: IamProps) {
    super(scope, id);
    const { vars, tenancyId, compartmentId, namePrefix } = props;

    const tenancy = new DataOciIdentityTenancy(this, 'tenancy', { tenancyId });
    const homeRegion = new DataOciIdentityRegions(this, 'home-region', {
      filter: [{ name: 'key', values: [tenancy.homeRegionKey] }],
    });
    const home = new OciProvider(this, 'home', {
      ...props.providerSettings,
      alias: 'home',
      region: homeRegion.regions.get(0).name,
    });

    this.tagNamespace = new IdentityTagNamespace(this, 'tag-namespace', {
      provider: home,
      compartmentId,
      name: namePrefix,
      description: 'vtap-archiver: marks the sink instances the dynamic group matches',
    });
    this.tag = new IdentityTag(this, 'role-tag', {
      provider: home,
      tagNamespaceId: this.tagNamespace.id,
      name: SINK_ROLE_TAG,
      description: 'vtap-archiver role of an instance',
      validator: { validatorType: 'ENUM', values: [SINK_ROLE_VALUE] },
    });
    this.tagKey = `${this.tagNamespace.name}.${this.tag.name}`;
    this.tagWait = new TimeSleep(this, 'tag-propagation', {
      provider: props.time, createDuration: TAG_PROPAGATION, dependsOn: [this.tagNamespace, this.tag],
    });

    this.dynamicGroup = new IdentityDynamicGroup(this, 'sinks', {
      provider: home,
      compartmentId: tenancyId,
      name: `${namePrefix}-sinks`,
      description: 'vtap-archiver sink instances (by defined tag, in the stack compartment)',
      matchingRule: `All {instance.compartment.id = '${compartmentId}', tag.${this.tagKey}.value = '${SINK_ROLE_VALUE}'}`,
      dependsOn: [this.tagWait],
    });

    // Written as one HCL expression (cdktf tokens cannot sit inside string literals of an
    // expression): the metrics statement only exists when the agent publishes metrics.
    const group = `\${${address(this.dynamicGroup)}.name}`;
    const bucket = `\${${vars.ref('bucket_name')}}`;
    const compartment = `\${${vars.ref('compartment_ocid')}}`;
    const region = `\${${vars.ref('region')}}`;
    const statements = [
      `Allow dynamic-group ${group} to manage objects in compartment id ${compartment} where all {target.bucket.name = '${bucket}', any {request.permission = 'OBJECT_CREATE', request.permission = 'OBJECT_INSPECT'}}`,
      // OCI wants OBJECT_OVERWRITE as well for every multipart call; granting it for those calls
      // only keeps a plain PutObject from replacing an archive.
      `Allow dynamic-group ${group} to manage objects in compartment id ${compartment} where all {target.bucket.name = '${bucket}', request.permission = 'OBJECT_OVERWRITE', any {${MULTIPART_OPERATIONS.map((op) => `request.operation = '${op}'`).join(', ')}}}`,
      `Allow service objectstorage-${region} to manage object-family in compartment id ${compartment} where target.bucket.name = '${bucket}'`,
    ];
    const metricsStatement = `Allow dynamic-group ${group} to use metrics in compartment id ${compartment} where target.metrics.namespace = '${AGENT_METRICS_NAMESPACE}'`;
    const expiryStatement = captureFilterExpiryStatement(group, compartment);
    this.policy = new IdentityPolicy(this, 'policy', {
      provider: home,
      compartmentId,
      name: `${namePrefix}-sinks`,
      description: 'vtap-archiver: sinks write captures to one bucket (post their metrics, remove expired capture rules); Object Storage runs its lifecycle rules',
      statements: Token.asList(`\${concat(${JSON.stringify(statements)}, ${vars.ref('agent_metrics')} ? [${JSON.stringify(metricsStatement)}] : [], ${vars.ref('capture_filter_expiry')} ? [${JSON.stringify(expiryStatement)}] : [])}`),
    });

    // The key grant sits where the key lives: its compartment, or the tenancy when not given.
    const kms = vars.ref('kms_key_id');
    const keyCompartment = vars.ref('kms_key_compartment_ocid');
    const kmsCount = Token.asNumber(`\${${kms} == "" ? 0 : 1}`);
    this.kmsPolicy = new IdentityPolicy(this, 'kms-policy', {
      count: kmsCount,
      provider: home,
      compartmentId: `\${${keyCompartment} == "" ? ${vars.ref('tenancy_ocid')} : ${keyCompartment}}`,
      name: `${namePrefix}-bucket-key`,
      description: 'vtap-archiver: Object Storage encrypts the capture bucket with the customer key',
      statements: [`Allow service objectstorage-${region} to use keys in \${${keyCompartment} == "" ? "tenancy" : "compartment id \${${keyCompartment}}"} where target.key.id = '\${${kms}}'`],
    });
    this.kmsPolicyWait = new TimeSleep(this, 'kms-policy-propagation', {
      provider: props.time, createDuration: POLICY_PROPAGATION, dependsOn: [this.kmsPolicy], count: kmsCount,
    });
    this.policyWait = new TimeSleep(this, 'policy-propagation', {
      provider: props.time, createDuration: POLICY_PROPAGATION, dependsOn: [this.dynamicGroup, this.policy],
    });
  }
}
