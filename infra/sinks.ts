import { Token, type ITerraformDependable } from 'cdktf';
import { Construct } from 'constructs';
import { AutoscalingAutoScalingConfiguration } from './.gen/oci/autoscaling-auto-scaling-configuration/index.js';
import { CoreInstanceConfiguration } from './.gen/oci/core-instance-configuration/index.js';
import { CoreInstancePool } from './.gen/oci/core-instance-pool/index.js';
import { flexShapeConfig, oracleLinuxImageId, type HostProps } from './images.js';
import { address } from './refs.js';

export interface SinksProps extends HostProps {
  readonly metadata: Record<string, string>;
  readonly definedTags: Record<string, string>;
  readonly nlbId: string;
  readonly backendSetName: string;
  readonly port: number;
  /** Terraform expression: the names of every availability domain of the region. */
  readonly availabilityDomainNames: string;
  /** Must exist before instances boot: the tag (for the dynamic group) and the listener. */
  readonly dependsOn: ITerraformDependable[];
}

/**
 * The sinks: an instance configuration and an instance pool attached to the NLB backend set.
 * OCI instance pools attach to network load balancers as well as to load balancers (the pool's
 * `load_balancers` block takes an NLB OCID; the provider schema has no separate NLB block), so the
 * pool adds and removes backends itself as it scales or replaces instances. The pool spreads its
 * sinks over every availability domain of the region (one placement configuration each), so
 * losing one AD leaves sinks in the others. Optional autoscaling on CPU.
 *
 * Pool size has one owner: `sink_count` without autoscaling; the autoscaler with it. Terraform
 * cannot ignore an attribute conditionally, so the pool is one of two resources (count 0 or 1):
 * the autoscaled one ignores changes to `size`, so an apply (e.g. the one that adds a VTAP) never
 * resets the pool to `sink_count`. Turning autoscaling on or off therefore replaces the pool.
 */
export class Sinks extends Construct {
  readonly instanceConfiguration: CoreInstanceConfiguration;
  /** The pool Terraform sizes (no autoscaling); count 0 or 1. */
  readonly fixedPool: CoreInstancePool;
  /** The pool the autoscaler sizes; Terraform ignores its size; count 0 or 1. */
  readonly autoscaledPool: CoreInstancePool;
  /** Terraform expression: the OCID of whichever pool exists. */
  readonly poolId: string;

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

    const autoscaling = vars.ref('sink_autoscaling');
    const pool = (rid: string, count: string, ignoreSize: boolean): CoreInstancePool => {
      const resource = new CoreInstancePool(this, rid, {
        count: Token.asNumber(count),
        compartmentId,
        displayName: `${namePrefix}-sinks`,
        instanceConfigurationId: this.instanceConfiguration.id,
        size: vars.number('sink_count'),
        // $${...} is a literal ${...} for OCI, not a Terraform interpolation.
        instanceDisplayNameFormatter: `${namePrefix}-sink-$\${launchCount}`,
        instanceHostnameFormatter: `sink-$\${launchCount}`,
        loadBalancers: [{
          loadBalancerId: props.nlbId,
          backendSetName: props.backendSetName,
          port: props.port,
          vnicSelection: 'PrimaryVnic',
        }],
        ...(ignoreSize ? { lifecycle: { ignoreChanges: ['size'] } } : {}),
        // Replaced by the dynamic block below (one placement per availability domain).
        placementConfigurations: [],
      });
      resource.addOverride('placement_configurations', undefined);
      resource.addOverride('dynamic.placement_configurations', {
        for_each: `\${${props.availabilityDomainNames}}`,
        content: {
          availability_domain: '${placement_configurations.value}',
          primary_vnic_subnets: { subnet_id: props.subnetId },
        },
      });
      return resource;
    };
    this.fixedPool = pool('pool', `\${${autoscaling} ? 0 : 1}`, false);
    this.autoscaledPool = pool('autoscaled-pool', `\${${autoscaling} ? 1 : 0}`, true);
    this.poolId = `\${one(concat(${address(this.fixedPool)}[*].id, ${address(this.autoscaledPool)}[*].id))}`;

    new AutoscalingAutoScalingConfiguration(this, 'autoscaling', {
      count: Token.asNumber(`\${${autoscaling} ? 1 : 0}`),
      compartmentId,
      displayName: `${namePrefix}-sinks-cpu`,
      coolDownInSeconds: 300,
      isEnabled: true,
      autoScalingResources: { id: `\${${address(this.autoscaledPool)}[0].id}`, type: 'instancePool' },
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
