import { TerraformLocal, Token } from 'cdktf';
import { Construct } from 'constructs';
import { MonitoringAlarm } from './.gen/oci/monitoring-alarm/index.js';
import { OnsNotificationTopic } from './.gen/oci/ons-notification-topic/index.js';
import { OnsSubscription } from './.gen/oci/ons-subscription/index.js';
import { AGENT_METRICS_NAMESPACE } from './iam.js';
import { address } from './refs.js';
import type { Variables } from './variables.js';

export interface AlarmsProps {
  readonly vars: Variables;
  readonly compartmentId: string;
  readonly namePrefix: string;
  /** The NLB's OCID (a cdktf token: it resolves inside the query string). */
  readonly nlbId: string;
  /** Terraform expression (with ${...}) of the sink pool's OCID. */
  readonly sinkPoolId: string;
}

/** Where a metric comes from: OCI's own services, or the agent (only with agent_metrics). */
type Origin = 'oci' | 'agent';

export interface AlarmSpec {
  readonly key: string;
  readonly origin: Origin;
  readonly namespace: string;
  /** MQL; `${...}` parts are Terraform interpolations. */
  readonly query: string;
  readonly severity: 'CRITICAL' | 'ERROR' | 'WARNING' | 'INFO';
  /** ISO 8601 duration the condition must hold before the alarm fires. */
  readonly pending: string;
  readonly body: string;
}

/**
 * The alarms, as data. Metric names and namespaces were checked against OCI's documentation where
 * it could be read (see infra/README.md, "Alarms"): oci_nlb UnhealthyBackendsPerNlb and
 * HealthyBackendsPerNlb, oci_computeagent CpuUtilization (dimension instancePoolId), oci_vcn
 * VnicConntrackUtilPercent; the agent's own come from agent/daemon/monitoring.ts.
 */
export function alarmSpecs(nlbId: string, sinkPoolId: string, uploadAgeSeconds: string, cpuPercent: string): AlarmSpec[] {
  return [
    { key: 'sink-unhealthy', origin: 'oci', namespace: 'oci_nlb', severity: 'WARNING', pending: 'PT5M',
      query: `UnhealthyBackendsPerNlb[1m]{resourceId = "${nlbId}"}.max() > 0`,
      body: 'At least one sink fails the NLB health check (GET :9780/health): its share of mirrored traffic goes to the other sinks. See journalctl -u vtap-archiver on that sink.' },
    { key: 'no-healthy-sink', origin: 'oci', namespace: 'oci_nlb', severity: 'CRITICAL', pending: 'PT2M',
      query: `HealthyBackendsPerNlb[1m]{resourceId = "${nlbId}"}.max() < 1`,
      body: 'No sink is healthy: the NLB drops all mirrored traffic (fail-open is off). Nothing is being archived.' },
    { key: 'sink-cpu', origin: 'oci', namespace: 'oci_computeagent', severity: 'WARNING', pending: 'PT5M',
      query: `CpuUtilization[1m]{instancePoolId = "${sinkPoolId}"}.max() > ${cpuPercent}`,
      body: 'A sink is CPU-saturated: it will drop packets in the kernel. Add sinks, a larger shape, or autoscaling.' },
    { key: 'conntrack', origin: 'oci', namespace: 'oci_vcn', severity: 'WARNING', pending: 'PT5M',
      query: 'VnicConntrackUtilPercent[1m].max() > 80',
      body: 'A VNIC in the stack compartment has its connection-tracking table over 80% full; when full it drops packets, health checks included. Check that the encapsulation-port rules are stateless.' },
    { key: 'kernel-drops', origin: 'agent', namespace: AGENT_METRICS_NAMESPACE, severity: 'WARNING', pending: 'PT5M',
      query: 'KernelDrops[5m].sum() > 0',
      body: 'A sink\'s kernel dropped captured packets (capture buffer full): mirrored traffic is missing from the archive.' },
    { key: 'evictions', origin: 'agent', namespace: AGENT_METRICS_NAMESPACE, severity: 'CRITICAL', pending: 'PT1M',
      query: 'Evictions[5m].sum() > 0',
      body: 'A sink deleted captures it could not upload to stay under its spool quota: archived traffic is lost. Check Object Storage access and the upload backlog.' },
    { key: 'upload-age', origin: 'agent', namespace: AGENT_METRICS_NAMESPACE, severity: 'CRITICAL', pending: 'PT5M',
      query: `SecondsSinceLastUpload[1m].max() > ${uploadAgeSeconds}`,
      body: 'A sink has not uploaded for too long (Object Storage or IAM problem?): its spool fills, then it evicts.' },
  ];
}

/**
 * Alarms that reach a person: a Notifications topic (or the one given) with an e-mail
 * subscription, and Monitoring alarms on NLB backend health, sink CPU, VNIC connection tracking
 * and, with agent_metrics, the agent's own figures. On when an e-mail or a topic is given and
 * create_alarms is not turned off.
 */
export class Alarms extends Construct {
  readonly topic: OnsNotificationTopic;
  readonly subscription: OnsSubscription;
  readonly alarms: MonitoringAlarm[] = [];

  constructor(scope: Construct, id: string, props: AlarmsProps) {
    super(scope, id);
    const { vars, compartmentId, namePrefix } = props;
    const email = vars.ref('alarm_email');
    const givenTopic = vars.ref('alarm_topic_id');
    const on = new TerraformLocal(this, 'alarms_on', `\${${vars.ref('create_alarms')} && (${email} != "" || ${givenTopic} != "")}`);
    on.overrideLogicalId('alarms_on');

    this.topic = new OnsNotificationTopic(this, 'topic', {
      count: Token.asNumber(`\${local.alarms_on && ${givenTopic} == "" ? 1 : 0}`),
      compartmentId,
      name: `${namePrefix}-alarms`,
      description: 'vtap-archiver: capture stopped or at risk',
    });
    const topicId = `\${${givenTopic} != "" ? ${givenTopic} : one(${address(this.topic)}[*].id)}`;
    this.subscription = new OnsSubscription(this, 'email', {
      count: Token.asNumber(`\${local.alarms_on && ${email} != "" ? 1 : 0}`),
      compartmentId,
      topicId,
      protocol: 'EMAIL',
      endpoint: `\${${email}}`,
    });

    const specs = alarmSpecs(props.nlbId, props.sinkPoolId,
      `\${${vars.ref('alarm_upload_age_minutes')} * 60}`, `\${${vars.ref('alarm_sink_cpu_percent')}}`);
    for (const spec of specs) {
      const condition = spec.origin === 'agent' ? `local.alarms_on && ${vars.ref('agent_metrics')}` : 'local.alarms_on';
      this.alarms.push(new MonitoringAlarm(this, spec.key, {
        count: Token.asNumber(`\${${condition} ? 1 : 0}`),
        compartmentId,
        metricCompartmentId: compartmentId,
        displayName: `${namePrefix}-${spec.key}`,
        namespace: spec.namespace,
        query: spec.query,
        severity: spec.severity,
        pendingDuration: spec.pending,
        body: spec.body,
        destinations: [topicId],
        isEnabled: true,
        messageFormat: 'ONS_OPTIMIZED',
        // Remind every 4 hours while it stays firing.
        repeatNotificationDuration: 'PT4H',
      }));
    }
  }
}
