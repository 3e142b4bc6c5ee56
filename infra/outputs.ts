import { TerraformOutput } from 'cdktf';
import { Construct } from 'constructs';

export interface OutputsProps {
  readonly nlbPrivateIp: string;
  readonly bucket: string;
  readonly namespace: string;
  readonly region: string;
  readonly compartmentId: string;
  readonly namePrefix: string;
  readonly capturePrefix: string;
  readonly sinkPoolId: string;
  readonly jumpHostPublicIp: string;
  readonly vtapIds: string;
}

/** What a user needs after apply, including the exact next commands. */
export class Outputs extends Construct {
  constructor(scope: Construct, id: string, props: OutputsProps) {
    super(scope, id);
    const output = (name: string, value: unknown, description: string): void => {
      new TerraformOutput(this, name, { value, description }).overrideLogicalId(name);
    };
    output('nlb_private_ip', props.nlbPrivateIp, 'Private IP of the network load balancer the VTAPs mirror to');
    output('bucket', props.bucket, 'Bucket the captures are archived to');
    output('namespace', props.namespace, 'Object Storage namespace of the bucket');
    output('sink_pool_id', props.sinkPoolId, 'OCID of the sink instance pool');
    output('jump_host_public_ip', props.jumpHostPublicIp, 'Public IP of the jump host / file server ("" when not created)');
    output('vtap_ids', props.vtapIds, 'OCIDs of the VTAPs, by source');

    const vtapsArgs = `--region ${props.region} --compartment ${props.compartmentId} --deployment ${props.namePrefix}`;
    output('next_commands', [
      '# 1. Wait until every sink is healthy, then start mirroring (VTAPs are created stopped):',
      `npx vtap-archiver vtaps status ${vtapsArgs}`,
      `npx vtap-archiver vtaps start ${vtapsArgs} --wait-healthy`,
      '#    without Node, per VTAP of the vtap_ids output (Terraform leaves the running state alone after creation):',
      `oci network vtap update --vtap-id <vtap-ocid> --is-vtap-enabled true --region ${props.region}`,
      '# 2. Follow a sink (private IP from the pool; through the jump host):',
      `oci compute-management instance-pool list-instances --compartment-id ${props.compartmentId} --instance-pool-id ${props.sinkPoolId} --region ${props.region}`,
      `ssh -J opc@${props.jumpHostPublicIp} opc@<sink-private-ip> sudo journalctl -u vtap-archiver -f`,
      '# 3. List and download archived captures:',
      `oci os object list --namespace ${props.namespace} --bucket-name ${props.bucket} --prefix ${props.capturePrefix} --region ${props.region} --all`,
      `oci os object bulk-download --namespace ${props.namespace} --bucket-name ${props.bucket} --prefix ${props.capturePrefix} --download-dir ./captures --region ${props.region}`,
    ].join('\n'), 'Commands to run next');
  }
}
