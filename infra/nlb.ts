import { Token } from 'cdktf';
import { Construct } from 'constructs';
import { NetworkLoadBalancerBackendSet } from './.gen/oci/network-load-balancer-backend-set/index.js';
import { NetworkLoadBalancerListener } from './.gen/oci/network-load-balancer-listener/index.js';
import { NetworkLoadBalancerNetworkLoadBalancer } from './.gen/oci/network-load-balancer-network-load-balancer/index.js';
import { AGENT_HTTP_PORT } from './agent-config.js';
import type { Variables } from './variables.js';

export interface NlbProps {
  readonly vars: Variables;
  readonly compartmentId: string;
  readonly namePrefix: string;
  readonly subnetId: string;
  readonly nsgId: string;
}

export const BACKEND_SET_NAME = 'sinks';
/**
 * Seconds an idle UDP flow keeps its sink (OCI's default, set explicitly). A mirrored source that
 * sends continuously never idles, so this only decides when a source that paused may land on
 * another sink; failover does not wait for it (is_instant_failover_enabled).
 */
export const UDP_IDLE_TIMEOUT_SECONDS = 120;

/**
 * The VTAP target: a private network load balancer with a UDP listener on the VXLAN port and one
 * backend set of sinks. The backend set preserves the source address (the agent sees which VNIC's
 * side sent it) and checks the agent's HTTP /health, which fails when capture or upload is broken;
 * a TCP check on 22 would keep a sink with a dead agent in rotation.
 *
 * How sources are spread over sinks: the backend set hashes each packet's outer addresses
 * (TWO_TUPLE by default: the mirrored VNIC's side and the NLB), so one mirrored source is one
 * flow that stays on one sink. A VTAP's flow never idles while it mirrors, so a sink added later
 * (autoscaling) receives only sources that start or resume after it joined. When a sink turns
 * unhealthy, instant failover moves its flows to the healthy sinks at once instead of letting
 * them run into the failed one until they idle out.
 */
export class Nlb extends Construct {
  readonly nlb: NetworkLoadBalancerNetworkLoadBalancer;
  readonly backendSet: NetworkLoadBalancerBackendSet;
  readonly listener: NetworkLoadBalancerListener;
  /** The UDP port VTAPs send to: the first encapsulation port. */
  readonly port: number;

  constructor(scope: Construct, id: string, props: NlbProps) {
    super(scope, id);
    const { vars, compartmentId, namePrefix } = props;
    this.port = Token.asNumber(`\${${vars.ref('encapsulation_ports')}[0]}`);

    this.nlb = new NetworkLoadBalancerNetworkLoadBalancer(this, 'nlb', {
      compartmentId,
      displayName: `${namePrefix}-nlb`,
      subnetId: props.subnetId,
      isPrivate: true,
      isPreserveSourceDestination: false,
      networkSecurityGroupIds: [props.nsgId],
    });
    this.backendSet = new NetworkLoadBalancerBackendSet(this, 'backend-set', {
      networkLoadBalancerId: this.nlb.id,
      name: BACKEND_SET_NAME,
      policy: vars.string('nlb_hashing_policy'),
      isPreserveSource: true,
      // Move a failed sink's flows at once: a VTAP flow never idles, so without this it would stay
      // pinned to the failed sink.
      isInstantFailoverEnabled: true,
      // Better to drop mirrored packets than to send them to sinks that cannot archive them.
      isFailOpen: false,
      healthChecker: {
        protocol: 'HTTP',
        port: AGENT_HTTP_PORT,
        urlPath: '/health',
        returnCode: 200,
        intervalInMillis: 10_000,
        timeoutInMillis: 3_000,
        retries: 3,
      },
    });
    this.listener = new NetworkLoadBalancerListener(this, 'listener', {
      networkLoadBalancerId: this.nlb.id,
      name: 'vxlan',
      defaultBackendSetName: this.backendSet.name,
      protocol: 'UDP',
      port: this.port,
      udpIdleTimeout: UDP_IDLE_TIMEOUT_SECONDS,
    });
  }

  /** The NLB's private IPv4 address. */
  get privateIp(): string {
    return this.nlb.ipAddresses.get(0).ipAddress;
  }
}
