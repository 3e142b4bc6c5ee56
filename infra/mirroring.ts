import { TerraformIterator, TerraformLocal, Token } from 'cdktf';
import { Construct } from 'constructs';
import { CoreCaptureFilter, type CoreCaptureFilterVtapCaptureFilterRules } from './.gen/oci/core-capture-filter/index.js';
import { CoreVtap } from './.gen/oci/core-vtap/index.js';
import { CAPTURE_FILTER_PRESETS, CUSTOM_PRESET, MAX_CAPTURE_RULES, type CaptureRule } from './capture-filters.js';
import { address } from './refs.js';
import { letCliChangeFilterRules } from './filter-ownership.js';
import type { Variables } from './variables.js';

export interface MirroringProps {
  readonly vars: Variables;
  readonly compartmentId: string;
  readonly namePrefix: string;
  readonly vcnId: string;
  readonly nlbId: string;
  /** Terraform expression: list of the demo sources' VNIC OCIDs, in source order. */
  readonly demoVnicIds: string;
}

/** Demo sources take VNIs base..base+9, listed VNICs base+10.. so adding demo sources never renumbers them. */
export const DEMO_VNI_SLOTS = 10;

function toFilterRule(rule: CaptureRule): CoreCaptureFilterVtapCaptureFilterRules {
  const range = (port: number | undefined) => (port === undefined ? undefined : { min: port, max: port });
  const ports = (destination: number | undefined, source: number | undefined) =>
    destination !== undefined || source !== undefined ? { destinationPortRange: range(destination), sourcePortRange: range(source) } : undefined;
  const tcp = ports(rule.tcpDestinationPort, rule.tcpSourcePort);
  const udp = ports(rule.udpDestinationPort, rule.udpSourcePort);
  return {
    trafficDirection: rule.direction,
    ruleAction: rule.action,
    sourceCidr: rule.sourceCidr,
    destinationCidr: rule.destinationCidr,
    ...(rule.protocol ? { protocol: rule.protocol } : {}),
    ...(tcp ? { tcpOptions: tcp } : {}),
    ...(udp ? { udpOptions: udp } : {}),
  };
}

/**
 * The `dynamic` block of the custom filter: the same CaptureRule fields as the presets, decoded from
 * JSON at plan time (Resource Manager has no list-of-objects input, so rules travel as text).
 */
function customRulesBlock(rulesJson: string): Record<string, unknown> {
  const rule = 'vtap_capture_filter_rules.value';
  const portOptions = (kind: 'tcp' | 'udp') => {
    const block = `${kind}_options`;
    const range = (field: string, name: string) => ({
      for_each: `\${try([${block}.value.${field}], [])}`,
      content: { min: `\${${name}.value}`, max: `\${${name}.value}` },
    });
    return {
      for_each: `\${can(${rule}.${kind}DestinationPort) || can(${rule}.${kind}SourcePort) ? [${rule}] : []}`,
      content: {
        dynamic: {
          destination_port_range: range(`${kind}DestinationPort`, 'destination_port_range'),
          source_port_range: range(`${kind}SourcePort`, 'source_port_range'),
        },
      },
    };
  };
  return {
    for_each: `\${jsondecode(${rulesJson})}`,
    content: {
      traffic_direction: `\${${rule}.direction}`,
      rule_action: `\${try(${rule}.action, "INCLUDE")}`,
      protocol: `\${try(${rule}.protocol, null)}`,
      source_cidr: `\${try(${rule}.sourceCidr, "0.0.0.0/0")}`,
      destination_cidr: `\${try(${rule}.destinationCidr, "0.0.0.0/0")}`,
      dynamic: { tcp_options: portOptions('tcp'), udp_options: portOptions('udp') },
    },
  };
}

/**
 * What is mirrored, and where to: one capture filter per preset (only the chosen one is created),
 * and one VTAP per mirrored VNIC (demo sources and listed existing VNICs), each with its own VNI
 * so the agent can split the archive by source. VTAPs target the NLB and are created stopped
 * unless `start_vtaps` (the sinks should be healthy before traffic arrives; a public lab also saw
 * OCI refuse a VTAP created running, though the provider's own example creates one enabled).
 * After creation the running state has one owner, `vtap-archiver vtaps start|stop` (or the
 * console / OCI CLI): Terraform ignores is_vtap_enabled, so an apply never stops mirroring.
 */
export class Mirroring extends Construct {
  readonly filters: CoreCaptureFilter[] = [];
  readonly vtaps: CoreVtap;

  constructor(scope: Construct, id: string, props: MirroringProps) {
    super(scope, id);
    const { vars, compartmentId, namePrefix } = props;
    const preset = vars.ref('capture_filter_preset');

    for (const [name, rules] of Object.entries(CAPTURE_FILTER_PRESETS)) {
      this.filters.push(new CoreCaptureFilter(this, `filter-${name}`, {
        count: Token.asNumber(`\${${preset} == "${name}" ? 1 : 0}`),
        compartmentId,
        displayName: `${namePrefix}-${name}`,
        filterType: 'VTAP',
        vtapCaptureFilterRules: rules.map(toFilterRule),
      }));
    }
    const custom = new CoreCaptureFilter(this, `filter-${CUSTOM_PRESET}`, {
      count: Token.asNumber(`\${${preset} == "${CUSTOM_PRESET}" ? 1 : 0}`),
      compartmentId,
      displayName: `${namePrefix}-${CUSTOM_PRESET}`,
      filterType: 'VTAP',
    });
    custom.addOverride('dynamic.vtap_capture_filter_rules', customRulesBlock(vars.ref('capture_filter_rules_json')));
    // The variable's validation says the same; this names the resource OCI would refuse.
    custom.addOverride('lifecycle.precondition', [{
      condition: `\${length(jsondecode(${vars.ref('capture_filter_rules_json')})) >= 1 && length(jsondecode(${vars.ref('capture_filter_rules_json')})) <= ${MAX_CAPTURE_RULES}}`,
      error_message: `A capture filter holds 1 to ${MAX_CAPTURE_RULES} rules: fix capture_filter_rules_json.`,
    }]);
    this.filters.push(custom);
    // `vtap-archiver filter` changes rules between applies; an apply must not undo that.
    letCliChangeFilterRules(this.filters);
    const filterId = `one(concat(${this.filters.map((f) => `${address(f)}[*].id`).join(', ')}))`;

    const base = vars.ref('vni_base');
    const sources = new TerraformLocal(this, 'sources', Token.asAny(`\${ { for source in concat(
      [for i, vnic in ${props.demoVnicIds} : { key = "demo-\${i}", vnic = vnic, vni = ${base} + i }],
      [for i, vnic in ${vars.ref('mirrored_vnic_ids')} : { key = "vnic-\${i}", vnic = vnic, vni = ${base} + ${DEMO_VNI_SLOTS} + i }]
    ) : source.key => source } }`));
    sources.overrideLogicalId('vtap_sources');

    const each = TerraformIterator.fromMap(Token.asAnyMap('${local.vtap_sources}'));
    this.vtaps = new CoreVtap(this, 'vtap', {
      forEach: each,
      compartmentId,
      vcnId: props.vcnId,
      displayName: `${namePrefix}-\${each.key}`,
      sourceType: 'VNIC',
      sourceId: each.getString('vnic'),
      targetType: 'NETWORK_LOAD_BALANCER',
      targetId: props.nlbId,
      captureFilterId: `\${${filterId}}`,
      encapsulationProtocol: 'VXLAN',
      vxlanNetworkIdentifier: `\${tostring(each.value.vni)}`,
      maxPacketSize: vars.number('vtap_max_packet_size'),
      trafficMode: vars.string('vtap_traffic_mode'),
      isVtapEnabled: vars.bool('start_vtaps'),
      freeformTags: { app: 'vtap-archiver', deployment: namePrefix },
      // One owner of the running state after creation: `vtap-archiver vtaps start|stop`.
      lifecycle: { ignoreChanges: ['is_vtap_enabled'] },
    });
  }
}
