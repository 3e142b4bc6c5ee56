import { Token } from 'cdktf';
import { Construct } from 'constructs';
import { CoreInstance } from './.gen/oci/core-instance/index.js';
import { METADATA } from './agent-config.js';
import type { CloudInit } from './cloud-init.js';
import { flexOnly, oracleLinuxImageId } from './images.js';
import { address } from './refs.js';
import type { Variables } from './variables.js';

export interface JumpHostProps {
  readonly vars: Variables;
  readonly compartmentId: string;
  readonly namePrefix: string;
  readonly availabilityDomain: string;
  readonly subnetId: string;
  readonly nsgId: string;
  readonly cloudInit: CloudInit;
  readonly kitUrl: string;
}

/**
 * The only host with a public IP: the SSH jump host into the private subnets, and the HTTP file
 * server the demo sources download from (port 80, reachable from the VCN only).
 */
export class JumpHost extends Construct {
  readonly instance: CoreInstance;
  /** Terraform expressions that are "" when no jump host is created. */
  readonly publicIp: string;
  readonly privateIp: string;

  constructor(scope: Construct, id: string, props: JumpHostProps) {
    super(scope, id);
    const { vars, compartmentId, namePrefix } = props;
    const imageId = oracleLinuxImageId(this, 'image', compartmentId, vars.string('demo_shape'), vars.string('oracle_linux_version'));
    this.instance = new CoreInstance(this, 'instance', {
      count: Token.asNumber(`\${${vars.ref('create_jump_host')} ? 1 : 0}`),
      compartmentId,
      availabilityDomain: props.availabilityDomain,
      displayName: `${namePrefix}-jump`,
      shape: vars.string('demo_shape'),
      shapeConfig: {
        ocpus: flexOnly(vars.ref('demo_shape'), vars.ref('demo_ocpus')),
        memoryInGbs: flexOnly(vars.ref('demo_shape'), vars.ref('demo_memory_gbs')),
      },
      sourceDetails: { sourceType: 'image', sourceId: imageId },
      createVnicDetails: { subnetId: props.subnetId, assignPublicIp: 'true', nsgIds: [props.nsgId], hostnameLabel: 'jump' },
      instanceOptions: { areLegacyImdsEndpointsDisabled: true },
      metadata: {
        ssh_authorized_keys: vars.string('ssh_public_key'),
        user_data: props.cloudInit.userData('file-server'),
        [METADATA.role]: 'file-server',
        [METADATA.kitUrl]: props.kitUrl,
        [METADATA.demoFileMegabytes]: Token.asString(vars.number('demo_file_megabytes')),
      },
      freeformTags: { app: 'vtap-archiver', role: 'jump' },
    });
    this.publicIp = `\${try(${address(this.instance)}[0].public_ip, "")}`;
    this.privateIp = `\${try(${address(this.instance)}[0].private_ip, "")}`;
  }
}
