import { AssetType, TerraformAsset, Token, type ITerraformDependable } from 'cdktf';
import { Construct } from 'constructs';
import { DataOciObjectstorageNamespace } from './.gen/oci/data-oci-objectstorage-namespace/index.js';
import { ObjectstorageBucket } from './.gen/oci/objectstorage-bucket/index.js';
import { ObjectstorageObject } from './.gen/oci/objectstorage-object/index.js';
import { ObjectstorageObjectLifecyclePolicy } from './.gen/oci/objectstorage-object-lifecycle-policy/index.js';
import { ObjectstoragePreauthrequest } from './.gen/oci/objectstorage-preauthrequest/index.js';
import type { Variables } from './variables.js';

export interface StorageProps {
  readonly vars: Variables;
  readonly compartmentId: string;
  readonly namePrefix: string;
  /** The node kit tarball (agent bundle, unit, bootstrap scripts), built by scripts/package-stack.mjs. */
  readonly kitFile: string;
  /** Carries a content hash: a new kit is a new object, a new URL and so a new instance configuration. */
  readonly kitObjectName: string;
  /** The customer-key grant (and its wait): OCI checks the key when the bucket is created. */
  readonly bucketDependsOn: ITerraformDependable[];
  /** The policy letting Object Storage manage the bucket's objects: checked when lifecycle rules are set. */
  readonly lifecycleDependsOn: ITerraformDependable[];
}

/** Days of inactivity after which Object Storage aborts an uncommitted multipart upload. */
export const ABORT_MULTIPART_AFTER_DAYS = 2;

/**
 * The capture bucket: private, auto-tiering, lifecycle rules (archive, delete, abort stale multipart
 * uploads: the sinks are not allowed to delete, so Object Storage cleans up for them), an optional
 * retention rule and customer KMS key. Beside it, `<bucket>-kit` carries the node kit, which
 * instances download at boot through a read-only pre-authenticated request for that one object: no
 * credentials and no OCI CLI are needed on a fresh VM, and the same path works for cdktf deploy and
 * Resource Manager.
 */
export class Storage extends Construct {
  readonly namespace: string;
  readonly bucket: ObjectstorageBucket;
  readonly kitBucket: ObjectstorageBucket;
  readonly lifecycle: ObjectstorageObjectLifecyclePolicy;
  readonly kitUrl: string;

  constructor(scope: Construct, id: string, props: StorageProps) {
    super(scope, id);
    const { vars, compartmentId } = props;
    this.namespace = new DataOciObjectstorageNamespace(this, 'namespace', { compartmentId }).namespace;

    this.bucket = new ObjectstorageBucket(this, 'bucket', {
      compartmentId,
      namespace: this.namespace,
      name: vars.string('bucket_name'),
      accessType: 'NoPublicAccess',
      autoTiering: 'InfrequentAccess',
      storageTier: 'Standard',
      versioning: 'Disabled',
      kmsKeyId: `\${${vars.ref('kms_key_id')} == "" ? null : ${vars.ref('kms_key_id')}}`,
      freeformTags: { app: 'vtap-archiver' },
      dependsOn: props.bucketDependsOn,
    });
    // Retention is optional: a dynamic block with zero or one rule.
    this.bucket.addOverride('dynamic.retention_rules', {
      for_each: `\${${vars.ref('retention_days')} > 0 ? [${vars.ref('retention_days')}] : []}`,
      content: {
        display_name: 'vtap-archiver-compliance',
        duration: [{ time_amount: '${retention_rules.value}', time_unit: 'DAYS' }],
        // A locked rule can never be removed; OCI requires the lock time to be at least 14 days ahead.
        time_rule_locked: `\${${vars.ref('retention_lock_time')} == "" ? null : ${vars.ref('retention_lock_time')}}`,
      },
    });

    const prefix = vars.string('capture_prefix');
    const days = (name: string): string => `\${tostring(max(${vars.ref(name)}, 1))}`;
    this.lifecycle = new ObjectstorageObjectLifecyclePolicy(this, 'lifecycle', {
      dependsOn: props.lifecycleDependsOn,
      namespace: this.namespace,
      bucket: this.bucket.name,
      rules: [
        { name: 'archive-captures', action: 'ARCHIVE', target: 'objects', isEnabled: Token.asAny(`\${${vars.ref('archive_after_days')} > 0}`),
          timeAmount: days('archive_after_days'), timeUnit: 'DAYS', objectNameFilter: { inclusionPrefixes: [prefix] } },
        { name: 'delete-captures', action: 'DELETE', target: 'objects', isEnabled: Token.asAny(`\${${vars.ref('delete_after_days')} > 0}`),
          timeAmount: days('delete_after_days'), timeUnit: 'DAYS', objectNameFilter: { inclusionPrefixes: [prefix] } },
        { name: 'abort-stale-multipart', action: 'ABORT', target: 'multipart-uploads', isEnabled: true,
          timeAmount: String(ABORT_MULTIPART_AFTER_DAYS), timeUnit: 'DAYS' },
      ],
    });
    // Retained objects cannot be deleted: a delete rule that fires first would fail on every object.
    this.lifecycle.addOverride('lifecycle.precondition', [{
      condition: `\${${vars.ref('delete_after_days')} == 0 || ${vars.ref('retention_days')} == 0 || ${vars.ref('delete_after_days')} > ${vars.ref('retention_days')}}`,
      error_message: 'delete_after_days must be 0 (never) or longer than retention_days.',
    }]);

    // The kit lives in a bucket of its own: a retention rule on the capture bucket would otherwise
    // make a replaced kit undeletable and every agent upgrade fail.
    this.kitBucket = new ObjectstorageBucket(this, 'kit-bucket', {
      compartmentId,
      namespace: this.namespace,
      name: `\${${vars.ref('bucket_name')}}-kit`,
      accessType: 'NoPublicAccess',
      storageTier: 'Standard',
      versioning: 'Disabled',
      freeformTags: { app: 'vtap-archiver' },
    });
    const kit = new TerraformAsset(this, 'kit', { path: props.kitFile, type: AssetType.FILE });
    const kitObject = new ObjectstorageObject(this, 'kit-object', {
      namespace: this.namespace,
      bucket: this.kitBucket.name,
      object: props.kitObjectName,
      source: kit.path,
      contentType: 'application/gzip',
    });
    const kitPar = new ObjectstoragePreauthrequest(this, 'kit-par', {
      namespace: this.namespace,
      bucket: this.kitBucket.name,
      name: `${props.namePrefix}-kit-download`,
      accessType: 'ObjectRead',
      objectName: kitObject.object,
      timeExpires: `\${timeadd(timestamp(), format("%dh", ${vars.ref('kit_url_days')} * 24))}`,
      // Instances launched later (autoscaling) still need the URL; re-applying must not churn it.
      lifecycle: { ignoreChanges: ['time_expires'] },
    });
    this.kitUrl = kitPar.fullPath;
  }
}
