import { Token, type ITerraformDependable } from 'cdktf';
import { Construct } from 'constructs';
import { AutoscalingAutoScalingConfiguration } from './.gen/oci/autoscaling-auto-scaling-configuration/index.js';
import { CoreInstanceConfiguration } from './.gen/oci/core-instance-configuration/index.js';
import { CoreInstancePool } from './.gen/oci/core-instance-pool/index.js';
import { flexShapeConfig, oracleLinuxImageId, type HostProps } from './images.js';

export interface SinksProps extends HostProps {
  readonly metadata: Record<string, string>;
  readonly definedTags: Record<string, string>;
  readonly nlbId: string;
  readonly backendSetName: string;
  readonly port: number;
  /** Must exist before instances boot: the tag (for the dynamic group) and the listener. */
  readonly dependsOn: ITerraformDependable[];
}

/**
 * The sinks: an instance configuration and an instance pool attached to the NLB backend set.
 * OCI instance pools attach to network load balancers as well as to load balancers (the pool's
 * `load_balancers` block takes an NLB OCID; the provider schema has no separate NLB block), so the
 * pool adds and removes backends itself as it scales or replaces instances. Optional autoscaling
 * on CPU.
 */
export class Sinks extends Construct {
  readonly instanceConfiguration: CoreInstanceConfiguration;
  readonly pool: CoreInstancePool;

  constructor(scope: Construct, id: string, props: SinksProps) {
    super(scope, id);
    const { vars, compartmentId, namePrefix } = props;
    const imageId = oracleLinuxImageId(this, 'image', compartmentId, vars.string('sink_shape'), vars.string('oracle_linux_version'));

    this.instanceConfiguration = new CoreInstanceConfiguration(this, 'configuration', {
      compartmentId,
      displayName: `${namePrefix}-sink`,
      dependsOn: props.dependsOn,
      // The pool must switch to a new configuration before the old one can go.
      lifecycle: { createBeforeDestroy: true },
      instanceDetails: {
        instanceType: 'compute',
        launchDetails: {
          compartmentId,
          shape: vars.string('sink_shape'),
          sourceDetails: {
            sourceType: 'image',
            imageId,
            bootVolumeSizeInGbs: Token.asString(vars.number('sink_boot_volume_gbs')),
          },
          createVnicDetails: {
            assignPublicIp: false,
            subnetId: props.subnetId,
            nsgIds: [props.nsgId],
          },
          // IMDSv1 off: the agent and bootstrap use /opc/v2 with the Bearer header.
          instanceOptions: { areLegacyImdsEndpointsDisabled: true },
          metadata: props.metadata,
          definedTags: props.definedTags,
          freeformTags: { app: 'vtap-archiver', role: 'sink' },
        },
      },
    });

    flexShapeConfig(this.instanceConfiguration, 'instance_details.launch_details.', vars, 'sink_shape', 'sink_ocpus', 'sink_memory_gbs');

    this.pool = new CoreInstancePool(this, 'pool', {
      compartmentId,
      displayName: `${namePrefix}-sinks`,
      instanceConfigurationId: this.instanceConfiguration.id,
      size: vars.number('sink_count'),
      // $${...} is a literal ${...} for OCI, not a Terraform interpolation.
      instanceDisplayNameFormatter: `${namePrefix}-sink-$\${launchCount}`,
      instanceHostnameFormatter: `sink-$\${launchCount}`,
      placementConfigurations: [{ availabilityDomain: props.availabilityDomain, primaryVnicSubnets: { subnetId: props.subnetId } }],
      loadBalancers: [{
        loadBalancerId: props.nlbId,
        backendSetName: props.backendSetName,
        port: props.port,
        vnicSelection: 'PrimaryVnic',
      }],
    });

    new AutoscalingAutoScalingConfiguration(this, 'autoscaling', {
      count: Token.asNumber(`\${${vars.ref('sink_autoscaling')} ? 1 : 0}`),
      compartmentId,
      displayName: `${namePrefix}-sinks-cpu`,
      coolDownInSeconds: 300,
      isEnabled: true,
      autoScalingResources: { id: this.pool.id, type: 'instancePool' },
      policies: [{
        displayName: 'cpu',
        policyType: 'threshold',
        capacity: { initial: vars.number('sink_count'), min: vars.number('sink_count_min'), max: vars.number('sink_count_max') },
        rules: [
          { displayName: 'scale-out', action: { type: 'CHANGE_COUNT_BY', value: 1 },
            metric: { metricType: 'CPU_UTILIZATION', threshold: { operator: 'GT', value: 70 } } },
          { displayName: 'scale-in', action: { type: 'CHANGE_COUNT_BY', value: -1 },
            metric: { metricType: 'CPU_UTILIZATION', threshold: { operator: 'LT', value: 20 } } },
        ],
      }],
    });
  }
}
