import { Token } from 'cdktf';
import { Construct } from 'constructs';
import { CoreInstance } from './.gen/oci/core-instance/index.js';
import { METADATA } from './agent-config.js';
import type { CloudInit } from './cloud-init.js';
import { demoInstanceBase, flexShapeConfig, type HostProps } from './images.js';
import { address } from './refs.js';

export interface JumpHostProps extends HostProps {
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
    const { vars, namePrefix } = props;
    this.instance = new CoreInstance(this, 'instance', {
      ...demoInstanceBase(this, props),
      count: Token.asNumber(`\${${vars.ref('create_jump_host')} ? 1 : 0}`),
      displayName: `${namePrefix}-jump`,
      createVnicDetails: { subnetId: props.subnetId, assignPublicIp: 'true', nsgIds: [props.nsgId], hostnameLabel: 'jump' },
      metadata: {
        ssh_authorized_keys: vars.string('ssh_public_key'),
        user_data: props.cloudInit.userData('file-server'),
        [METADATA.role]: 'file-server',
        [METADATA.kitUrl]: props.kitUrl,
        [METADATA.demoFileMegabytes]: Token.asString(vars.number('demo_file_megabytes')),
      },
      freeformTags: { app: 'vtap-archiver', role: 'jump' },
    });
    flexShapeConfig(this.instance, '', vars, 'demo_shape', 'demo_ocpus', 'demo_memory_gbs');
    this.publicIp = `\${try(${address(this.instance)}[0].public_ip, "")}`;
    this.privateIp = `\${try(${address(this.instance)}[0].private_ip, "")}`;
  }
}
