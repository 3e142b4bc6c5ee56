import { TerraformCount, Token } from 'cdktf';
import { Construct } from 'constructs';
import { CoreInstance } from './.gen/oci/core-instance/index.js';
import { DataOciCoreVnicAttachments } from './.gen/oci/data-oci-core-vnic-attachments/index.js';
import { METADATA } from './agent-config.js';
import type { CloudInit } from './cloud-init.js';
import { flexOnly, oracleLinuxImageId } from './images.js';
import { address } from './refs.js';
import type { Variables } from './variables.js';

export interface DemoSourcesProps {
  readonly vars: Variables;
  readonly compartmentId: string;
  readonly namePrefix: string;
  readonly availabilityDomain: string;
  readonly subnetId: string;
  readonly nsgId: string;
  readonly cloudInit: CloudInit;
  readonly kitUrl: string;
  readonly fileServerIp: string;
}

/**
 * Demo traffic: `demo_source_count` instances in the private sources subnet that download the
 * jump host's dummy file over and over, with their MTU at or below 8950 so the mirrored packets
 * plus VXLAN headers fit the target's 9000 bytes and nothing is truncated.
 */
export class DemoSources extends Construct {
  readonly instances: CoreInstance;
  /** Terraform expression: the sources' primary VNIC OCIDs, in source order. */
  readonly vnicIds: string;

  constructor(scope: Construct, id: string, props: DemoSourcesProps) {
    super(scope, id);
    const { vars, compartmentId, namePrefix } = props;
    const imageId = oracleLinuxImageId(this, 'image', compartmentId, vars.string('demo_shape'), vars.string('oracle_linux_version'));
    const count = TerraformCount.of(vars.number('demo_source_count'));
    this.instances = new CoreInstance(this, 'instance', {
      count,
      compartmentId,
      availabilityDomain: props.availabilityDomain,
      displayName: `${namePrefix}-source-\${count.index}`,
      shape: vars.string('demo_shape'),
      shapeConfig: {
        ocpus: flexOnly(vars.ref('demo_shape'), vars.ref('demo_ocpus')),
        memoryInGbs: flexOnly(vars.ref('demo_shape'), vars.ref('demo_memory_gbs')),
      },
      sourceDetails: { sourceType: 'image', sourceId: imageId },
      createVnicDetails: { subnetId: props.subnetId, assignPublicIp: 'false', nsgIds: [props.nsgId], hostnameLabel: 'source-${count.index}' },
      instanceOptions: { areLegacyImdsEndpointsDisabled: true },
      metadata: {
        ssh_authorized_keys: vars.string('ssh_public_key'),
        user_data: props.cloudInit.userData('source'),
        [METADATA.role]: 'source',
        [METADATA.kitUrl]: props.kitUrl,
        [METADATA.fileServer]: props.fileServerIp,
        [METADATA.sourceMtu]: Token.asString(vars.number('source_mtu')),
      },
      freeformTags: { app: 'vtap-archiver', role: 'source' },
    });

    const attachments = new DataOciCoreVnicAttachments(this, 'vnics', {
      count: TerraformCount.of(vars.number('demo_source_count')),
      compartmentId,
      instanceId: `\${${address(this.instances)}[count.index].id}`,
    });
    this.vnicIds = `[for a in ${address(attachments)} : a.vnic_attachments[0].vnic_id]`;
  }
}
