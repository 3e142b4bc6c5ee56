/**
 * The stack's part of issue 14: mirror sources admitted to NLB and sinks; capture filter rules left
 * to `vtap-archiver filter` between applies; with capture_filter_expiry, the sinks sweep expired
 * rules (their policy and agent config).
 */
import { parse } from 'yaml';
import { beforeAll, describe, expect, it } from 'vitest';
import { configSchema } from '../../agent/daemon/config.js';
import { CAPTURE_FILTER_PRESETS } from '../../infra/capture-filters.js';
import { schemaYaml } from '../../infra/package/schema-yaml.js';
import { VARIABLES } from '../../infra/variables.js';
import { byPath, only, renderedSinkConfig, synthesize, type Synthesized } from './helpers.js';

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

describe('the sinks remove expired capture rules (capture_filter_expiry)', () => {
  it('a bool variable, off by default, with the capture filter variables and on the Resource Manager form', () => {
    expect(VARIABLES.find((v) => v.name === 'capture_filter_expiry')).toMatchObject({ type: 'bool', default: false, group: 'Mirroring' });
    expect(synth.config.variable.capture_filter_expiry).toMatchObject({ type: 'bool', default: false });
    const schema = parse(schemaYaml('1.2.3'));
    expect(schema.variables.capture_filter_expiry).toMatchObject({ type: 'boolean', default: false });
    const group = schema.variableGroups.find((g: { variables: string[] }) => g.variables.includes('capture_filter_expiry'));
    expect(group.variables).toContain('capture_filter_preset');
  });

  it('adds one statement to the sinks\' policy, only with the variable: read and update of capture filters, nothing more', () => {
    const statements = byPath(synth.config, 'oci_identity_policy').get('iam_policy').statements as string;
    const expiry = /var\.capture_filter_expiry \? \["(Allow [^"]*)"\] : \[\]/.exec(statements);
    expect(expiry, statements).not.toBeNull();
    expect(expiry![1]).toMatch(/^Allow dynamic-group \$\{oci_identity_dynamic_group\.[^}]+\.name\} to use capture-filters in compartment id \$\{var\.compartment_ocid\} where any \{request\.permission = 'CAPTURE_FILTER_READ', request\.permission = 'CAPTURE_FILTER_UPDATE'\}$/);
    // Nothing else about capture filters or VTAPs anywhere in the policy.
    expect(statements.match(/capture-filters/g)).toHaveLength(1);
    expect(statements).not.toMatch(/vtaps|virtual-network-family|CAPTURE_FILTER_(LIST|ATTACH|DETACH|CREATE|DELETE|MOVE)/);
  });

  it('writes the agent\'s captureFilter section: instance principal, the filter the stack created by OCID, the sweep on with the variable', () => {
    const config = only(synth.config, 'oci_core_instance_configuration').instance_details.launch_details.metadata.vtap_archiver_config as string;
    expect(config).toContain('"captureFilter" = {"auth" = "instance-principal", "filterId" = local.capture_filter_id, "region" = var.region, "expirySweep" = {"enabled" = var.capture_filter_expiry}}');
    // The one filter the chosen preset creates, whichever it is.
    const filters = Object.keys(synth.config.resource.oci_core_capture_filter ?? {});
    expect(filters).toHaveLength(Object.keys(CAPTURE_FILTER_PRESETS).length + 1);
    const local = synth.config.locals.capture_filter_id!;
    expect(local.startsWith('${one(concat(')).toBe(true);
    for (const name of filters) expect(local).toContain(`oci_core_capture_filter.${name}[*].id`);
  });

  it('the section as rendered is accepted by the agent\'s config schema and turns the sweep on for that filter', () => {
    const rendered = renderedSinkConfig(true);
    const parsed = configSchema.parse(rendered);
    expect(parsed.captureFilter).toMatchObject({
      auth: 'instance-principal', filterId: 'ocid1.capturefilter.oc1..f', region: 'eu-frankfurt-1',
      expirySweep: { enabled: true }, endpoint: { enabled: false },
    });
  });
});
