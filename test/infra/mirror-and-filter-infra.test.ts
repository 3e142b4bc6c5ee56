/** The stack's part of issue 14: mirror sources admitted to NLB and sinks; capture filter rules left to `vtap-archiver filter` between applies. */
import { beforeAll, describe, expect, it } from 'vitest';
import { CAPTURE_FILTER_PRESETS } from '../../infra/capture-filters.js';
import { VARIABLES } from '../../infra/variables.js';
import { byPath, synthesize, type Synthesized } from './helpers.js';

let synth: Synthesized;
beforeAll(async () => {
  synth = await synthesize();
});

describe('mirror sources without a VTAP', () => {
  it('a variable lists their CIDRs (none by default, each checked as a CIDR)', () => {
    const spec = VARIABLES.find((v) => v.name === 'mirror_source_cidrs');
    expect(spec).toMatchObject({ type: 'list(string)', default: [], group: 'Mirroring' });
    expect(synth.config.variable.mirror_source_cidrs.validation[0].condition).toBe('${alltrue([for cidr in var.mirror_source_cidrs : can(cidrhost(cidr, 0))])}');
  });

  it('the NLB and the sinks admit UDP from them on every encapsulation port, one rule per CIDR and port', () => {
    const rules = byPath(synth.config, 'oci_core_network_security_group_security_rule');
    for (const [path, group] of [['security_nlb-mirror-sources-in', 'security_nlb_'], ['security_sinks-mirror-sources-in', 'security_sinks_']] as const) {
      const rule = rules.get(path);
      expect(rule, path).toMatchObject({
        direction: 'INGRESS', protocol: '17', source: '${each.value.cidr}', source_type: 'CIDR_BLOCK',
        udp_options: { destination_port_range: { min: '${each.value.port}', max: '${each.value.port}' } },
      });
      expect(rule.network_security_group_id).toContain(group);
      expect(rule.for_each).toBe('${ { for pair in setproduct(var.mirror_source_cidrs, local.encapsulation_port_strings) : "${pair[0]} ${pair[1]}" => { cidr = pair[0], port = tonumber(pair[1]) } } }');
    }
  });
});

describe('capture filter rules changed by `vtap-archiver filter`', () => {
  it('an apply ignores changes to an existing filter\'s rules and tags (every filter, whichever preset is chosen)', () => {
    const filters = Object.values(synth.config.resource.oci_core_capture_filter ?? {});
    expect(filters.length).toBe(Object.keys(CAPTURE_FILTER_PRESETS).length + 1);
    for (const filter of filters) expect(filter.lifecycle.ignore_changes).toEqual(['vtap_capture_filter_rules', 'freeform_tags']);
  });
});
