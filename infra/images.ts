import { Token } from 'cdktf';
import { Construct } from 'constructs';
import { DataOciCoreImages } from './.gen/oci/data-oci-core-images/index.js';
import type { CoreInstanceConfig } from './.gen/oci/core-instance/index.js';
import type { Variables } from './variables.js';

/** Where a group of instances goes: shared by the sinks, the jump host and the demo sources. */
export interface HostProps {
  readonly vars: Variables;
  readonly compartmentId: string;
  readonly namePrefix: string;
  readonly availabilityDomain: string;
  readonly subnetId: string;
  readonly nsgId: string;
}

/**
 * The newest Oracle Linux platform image that runs on a shape. Asking with `shape` makes OCI return
 * only images for that shape's architecture (x86_64 or aarch64); the name filter drops the GPU builds.
 */
export function oracleLinuxImageId(scope: Construct, id: string, compartmentId: string, shape: string, osVersion: string): string {
  const images = new DataOciCoreImages(scope, id, {
    compartmentId,
    operatingSystem: 'Oracle Linux',
    operatingSystemVersion: osVersion,
    shape,
    state: 'AVAILABLE',
    sortBy: 'TIMECREATED',
    sortOrder: 'DESC',
    filter: [{ name: 'display_name', values: ['^Oracle-Linux-[0-9.]+-(aarch64-)?[0-9]{4}\\.[0-9]{2}\\.[0-9]{2}-[0-9]+$'], regex: true }],
  });
  return images.images.get(0).id;
}

/**
 * Flex shapes take OCPUs and memory; fixed shapes reject a shape_config with them. Takes Terraform
 * references (`var.sink_shape`), since the choice happens at plan time.
 */
export function flexOnly(shapeRef: string, valueRef: string): number {
  return Token.asNumber(`\${endswith(${shapeRef}, ".Flex") ? ${valueRef} : null}`);
}

/** Shape, image and IMDSv2-only settings of the jump host and demo sources (both use demo_shape). */
export function demoInstanceBase(scope: Construct, props: HostProps): Pick<CoreInstanceConfig,
  'compartmentId' | 'availabilityDomain' | 'shape' | 'shapeConfig' | 'sourceDetails' | 'instanceOptions'> {
  const { vars, compartmentId } = props;
  const imageId = oracleLinuxImageId(scope, 'image', compartmentId, vars.string('demo_shape'), vars.string('oracle_linux_version'));
  return {
    compartmentId,
    availabilityDomain: props.availabilityDomain,
    shape: vars.string('demo_shape'),
    shapeConfig: {
      ocpus: flexOnly(vars.ref('demo_shape'), vars.ref('demo_ocpus')),
      memoryInGbs: flexOnly(vars.ref('demo_shape'), vars.ref('demo_memory_gbs')),
    },
    sourceDetails: { sourceType: 'image', sourceId: imageId },
    instanceOptions: { areLegacyImdsEndpointsDisabled: true },
  };
}
