import { ListTerraformIterator, TerraformIterator, TerraformLocal, Token } from 'cdktf';
import { Construct } from 'constructs';
import { CoreNetworkSecurityGroup } from './.gen/oci/core-network-security-group/index.js';
import { CoreNetworkSecurityGroupSecurityRule } from './.gen/oci/core-network-security-group-security-rule/index.js';
import { AGENT_HTTP_PORT } from './agent-config.js';
import type { Variables } from './variables.js';
import { admitMirrorSources } from './mirror-sources.js';

export interface SecurityProps {
  readonly vars: Variables;
  readonly compartmentId: string;
  readonly vcnId: string;
  readonly vcnCidr: string;
  readonly namePrefix: string;
}

const TCP = '6';
const UDP = '17';
const ALL = 'all';

/**
 * Network security groups, one per role, admitting only what each role needs:
 * - nlb:     encapsulated UDP from the VCN (VTAPs send from the mirrored VNICs' side of the VCN);
 * - sinks:   the same UDP, the agent's health port from the NLB (and the jump host, for /metrics),
 *            SSH from the jump host only;
 * - jump:    SSH from the user's CIDR, HTTP (the demo file) from the VCN;
 * - sources: SSH from the jump host.
 * Egress is open: sinks must reach Object Storage and package mirrors, the NLB must reach sinks.
 */
export class Security extends Construct {
  readonly nlb: CoreNetworkSecurityGroup;
  readonly sinks: CoreNetworkSecurityGroup;
  readonly jump: CoreNetworkSecurityGroup;
  readonly sources: CoreNetworkSecurityGroup;

  constructor(scope: Construct, id: string, props: SecurityProps) {
    super(scope, id);
    const { vars, compartmentId, vcnId, vcnCidr, namePrefix } = props;
    const nsg = (name: string): CoreNetworkSecurityGroup =>
      new CoreNetworkSecurityGroup(this, name, { compartmentId, vcnId, displayName: `${namePrefix}-${name}` });
    this.nlb = nsg('nlb');
    this.sinks = nsg('sinks');
    this.jump = nsg('jump');
    this.sources = nsg('sources');

    // for_each needs strings; the ports variable is a list of numbers.
    const portStrings = new TerraformLocal(this, 'encapsulation_port_strings', `\${[for port in ${vars.ref('encapsulation_ports')} : tostring(port)]}`);
    portStrings.overrideLogicalId('encapsulation_port_strings');
    const ports = (): ListTerraformIterator => TerraformIterator.fromList(portStrings.asList);

    // Stateless: every mirrored inner flow arrives with its own outer source port, so tracked
    // rules would fill the VNIC's connection-tracking table and then drop packets, health checks
    // included. VXLAN is one-way (nothing answers it), so the sinks need no return rule; the NLB
    // forwards the same packets on, so it gets a stateless egress rule for them (a stateless rule
    // takes precedence over the open stateful egress rule below, which would track each flow).
    for (const [group, label] of [[this.nlb, 'nlb'], [this.sinks, 'sinks']] as const) {
      const each = ports();
      new CoreNetworkSecurityGroupSecurityRule(this, `${label}-encap-in`, {
        forEach: each,
        networkSecurityGroupId: group.id,
        direction: 'INGRESS',
        protocol: UDP,
        stateless: true,
        source: vcnCidr,
        sourceType: 'CIDR_BLOCK',
        description: 'mirrored traffic (VXLAN) from the VCN, untracked',
        udpOptions: { destinationPortRange: { min: Token.asNumber(each.value), max: Token.asNumber(each.value) } },
      });
    }
    const forward = ports();
    new CoreNetworkSecurityGroupSecurityRule(this, 'nlb-encap-out', {
      forEach: forward,
      networkSecurityGroupId: this.nlb.id,
      direction: 'EGRESS',
      protocol: UDP,
      stateless: true,
      destination: vcnCidr,
      destinationType: 'CIDR_BLOCK',
      description: 'mirrored traffic forwarded to the sinks, untracked',
      udpOptions: { destinationPortRange: { min: Token.asNumber(forward.value), max: Token.asNumber(forward.value) } },
    });

    admitMirrorSources(this, vars, { nlb: this.nlb, sinks: this.sinks });

    const fromGroup = (rid: string, group: CoreNetworkSecurityGroup, source: CoreNetworkSecurityGroup, port: number, description: string): void => {
      new CoreNetworkSecurityGroupSecurityRule(this, rid, {
        networkSecurityGroupId: group.id,
        direction: 'INGRESS',
        protocol: TCP,
        source: source.id,
        sourceType: 'NETWORK_SECURITY_GROUP',
        description,
        tcpOptions: { destinationPortRange: { min: port, max: port } },
      });
    };
    fromGroup('sinks-health-from-nlb', this.sinks, this.nlb, AGENT_HTTP_PORT, 'NLB health check of the agent (GET /health)');
    fromGroup('sinks-metrics-from-jump', this.sinks, this.jump, AGENT_HTTP_PORT, 'agent /health and /metrics from the jump host');
    fromGroup('sinks-ssh-from-jump', this.sinks, this.jump, 22, 'SSH from the jump host');
    fromGroup('sources-ssh-from-jump', this.sources, this.jump, 22, 'SSH from the jump host');

    new CoreNetworkSecurityGroupSecurityRule(this, 'jump-ssh-in', {
      networkSecurityGroupId: this.jump.id,
      direction: 'INGRESS',
      protocol: TCP,
      source: vars.string('ssh_source_cidr'),
      sourceType: 'CIDR_BLOCK',
      description: 'SSH from the operator',
      tcpOptions: { destinationPortRange: { min: 22, max: 22 } },
    });
    new CoreNetworkSecurityGroupSecurityRule(this, 'jump-http-in', {
      networkSecurityGroupId: this.jump.id,
      direction: 'INGRESS',
      protocol: TCP,
      source: vcnCidr,
      sourceType: 'CIDR_BLOCK',
      description: 'demo file download from the sources',
      tcpOptions: { destinationPortRange: { min: 80, max: 80 } },
    });

    for (const [group, label] of [[this.nlb, 'nlb'], [this.sinks, 'sinks'], [this.jump, 'jump'], [this.sources, 'sources']] as const) {
      new CoreNetworkSecurityGroupSecurityRule(this, `${label}-egress`, {
        networkSecurityGroupId: group.id,
        direction: 'EGRESS',
        protocol: ALL,
        destination: '0.0.0.0/0',
        destinationType: 'CIDR_BLOCK',
        description: 'outbound (Object Storage, packages, NLB to backends)',
      });
    }
  }
}
