import type { TerraformResource } from 'cdktf';
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
 * Flex shapes need a shape_config with OCPUs and memory; fixed shapes must not get one. A dynamic
 * block with zero or one element, decided at plan time from the shape variable. `path` is where the
 * block sits inside the resource ("" at the top, "instance_details.launch_details." when nested).
 */
export function flexShapeConfig(resource: TerraformResource, path: string, vars: Variables, shape: string, ocpus: string, memory: string): void {
  resource.addOverride(`${path}dynamic.shape_config`, {
    for_each: `\${endswith(${vars.ref(shape)}, ".Flex") ? [1] : []}`,
    content: { ocpus: `\${${vars.ref(ocpus)}}`, memory_in_gbs: `\${${vars.ref(memory)}}` },
  });
}

/** Shape, image and IMDSv2-only settings of the jump host and demo sources (both use demo_shape; see flexShapeConfig). */
export function demoInstanceBase(scope: Construct, props: HostProps): Pick<CoreInstanceConfig,
  'compartmentId' | 'availabilityDomain' | 'shape' | 'sourceDetails' | 'instanceOptions'> {
  const { vars, compartmentId } = props;
  const imageId = oracleLinuxImageId(scope, 'image', compartmentId, vars.string('demo_shape'), vars.string('oracle_linux_version'));
  return {
    compartmentId,
    availabilityDomain: props.availabilityDomain,
    shape: vars.string('demo_shape'),
    sourceDetails: { sourceType: 'image', sourceId: imageId },
    instanceOptions: { areLegacyImdsEndpointsDisabled: true },
  };
}
