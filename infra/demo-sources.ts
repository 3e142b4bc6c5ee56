import { TerraformCount, Token } from 'cdktf';
import { Construct } from 'constructs';
import { CoreInstance } from './.gen/oci/core-instance/index.js';
import { DataOciCoreVnicAttachments } from './.gen/oci/data-oci-core-vnic-attachments/index.js';
import { METADATA } from './agent-config.js';
import type { CloudInit } from './cloud-init.js';
import { demoInstanceBase, flexShapeConfig, type HostProps } from './images.js';
import { address } from './refs.js';

export interface DemoSourcesProps extends HostProps {
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
    this.instances = new CoreInstance(this, 'instance', {
      ...demoInstanceBase(this, props),
      count: TerraformCount.of(vars.number('demo_source_count')),
      displayName: `${namePrefix}-source-\${count.index}`,
      createVnicDetails: { subnetId: props.subnetId, assignPublicIp: 'false', nsgIds: [props.nsgId], hostnameLabel: 'source-${count.index}' },
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

    flexShapeConfig(this.instances, '', vars, 'demo_shape', 'demo_ocpus', 'demo_memory_gbs');

    const attachments = new DataOciCoreVnicAttachments(this, 'vnics', {
      count: TerraformCount.of(vars.number('demo_source_count')),
      compartmentId,
      instanceId: `\${${address(this.instances)}[count.index].id}`,
    });
    this.vnicIds = `[for a in ${address(attachments)} : a.vnic_attachments[0].vnic_id]`;
  }
}
