import { TerraformIterator, Token } from 'cdktf';
import { Construct } from 'constructs';
import type { CoreNetworkSecurityGroup } from './.gen/oci/core-network-security-group/index.js';
import { CoreNetworkSecurityGroupSecurityRule } from './.gen/oci/core-network-security-group-security-rule/index.js';
import type { Variables } from './variables.js';

/**
 * Hosts without a VTAP (`vtap-archiver mirror`, from another cloud or on premises over VPN or
 * FastConnect) send VXLAN from their own addresses, outside the VCN: the `mirror_source_cidrs`
 * variable admits them to the NLB and the sinks on each encapsulation port (none by default).
 * Each host's VNI keeps its packets apart in the archive.
 */
export function admitMirrorSources(scope: Construct, vars: Variables, groups: Record<string, CoreNetworkSecurityGroup>): void {
  const pairs = `\${ { for pair in setproduct(${vars.ref('mirror_source_cidrs')}, local.encapsulation_port_strings) : "\${pair[0]} \${pair[1]}" => { cidr = pair[0], port = tonumber(pair[1]) } } }`;
  for (const [label, group] of Object.entries(groups)) {
    const each = TerraformIterator.fromMap(Token.asAnyMap(pairs));
    new CoreNetworkSecurityGroupSecurityRule(scope, `${label}-mirror-sources-in`, {
      forEach: each,
      networkSecurityGroupId: group.id,
      direction: 'INGRESS',
      protocol: '17',
      source: each.getString('cidr'),
      sourceType: 'CIDR_BLOCK',
      description: 'mirrored traffic (VXLAN) from hosts without a VTAP (vtap-archiver mirror)',
      udpOptions: { destinationPortRange: { min: each.getNumber('port'), max: each.getNumber('port') } },
    });
  }
}
