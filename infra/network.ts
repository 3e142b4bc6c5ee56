import { Construct } from 'constructs';
import { CoreInternetGateway } from './.gen/oci/core-internet-gateway/index.js';
import { CoreNatGateway } from './.gen/oci/core-nat-gateway/index.js';
import { CoreRouteTable } from './.gen/oci/core-route-table/index.js';
import { CoreSecurityList } from './.gen/oci/core-security-list/index.js';
import { CoreServiceGateway } from './.gen/oci/core-service-gateway/index.js';
import { CoreSubnet } from './.gen/oci/core-subnet/index.js';
import { CoreVcn } from './.gen/oci/core-vcn/index.js';
import { DataOciCoreServices } from './.gen/oci/data-oci-core-services/index.js';
import type { Variables } from './variables.js';

export interface NetworkProps {
  readonly vars: Variables;
  readonly compartmentId: string;
  readonly namePrefix: string;
}

/**
 * VCN, gateways, route tables and three subnets: public (jump host / file server), sources and
 * sinks (private; the NLB lives with the sinks). Traffic rules live in NSGs (security.ts); the
 * subnets get one security list that only lets path-MTU ICMP in, instead of the VCN's default list
 * with its SSH-from-anywhere rule.
 */
export class Network extends Construct {
  readonly vcn: CoreVcn;
  readonly publicSubnet: CoreSubnet;
  readonly sourcesSubnet: CoreSubnet;
  readonly sinksSubnet: CoreSubnet;
  readonly vcnCidr: string;

  constructor(scope: Construct, id: string, props: NetworkProps) {
    super(scope, id);
    const { vars, compartmentId, namePrefix } = props;
    this.vcnCidr = vars.string('vcn_cidr');

    this.vcn = new CoreVcn(this, 'vcn', {
      compartmentId,
      cidrBlocks: [this.vcnCidr],
      displayName: `${namePrefix}-vcn`,
      dnsLabel: 'vtaparch',
    });
    const vcnId = this.vcn.id;

    const internet = new CoreInternetGateway(this, 'internet', {
      compartmentId, vcnId, enabled: true, displayName: `${namePrefix}-igw`,
    });
    const nat = new CoreNatGateway(this, 'nat', { compartmentId, vcnId, displayName: `${namePrefix}-nat` });

    // Sinks reach Object Storage (and the Oracle Linux yum mirrors) through the service gateway.
    const services = new DataOciCoreServices(this, 'services', {
      filter: [{ name: 'name', values: ['All .* Services In Oracle Services Network'], regex: true }],
    });
    const allServices = services.services.get(0);
    const serviceGateway = new CoreServiceGateway(this, 'service', {
      compartmentId, vcnId, displayName: `${namePrefix}-sgw`,
      services: [{ serviceId: allServices.id }],
    });

    const publicRoutes = new CoreRouteTable(this, 'public-routes', {
      compartmentId, vcnId, displayName: `${namePrefix}-public`,
      routeRules: [{ destination: '0.0.0.0/0', destinationType: 'CIDR_BLOCK', networkEntityId: internet.id, description: 'internet' }],
    });
    const privateRoutes = new CoreRouteTable(this, 'private-routes', {
      compartmentId, vcnId, displayName: `${namePrefix}-private`,
      routeRules: [
        { destination: '0.0.0.0/0', destinationType: 'CIDR_BLOCK', networkEntityId: nat.id, description: 'NAT for package mirrors outside OCI' },
        { destination: allServices.cidrBlock, destinationType: 'SERVICE_CIDR_BLOCK', networkEntityId: serviceGateway.id, description: 'Object Storage and OCI services' },
      ],
    });

    const minimal = new CoreSecurityList(this, 'minimal', {
      compartmentId, vcnId, displayName: `${namePrefix}-path-mtu-only`,
      // Fragmentation-needed must reach every host, or large mirrored packets stall silently.
      ingressSecurityRules: [{ protocol: '1', source: this.vcnCidr, icmpOptions: { type: 3, code: 4 }, description: 'path MTU discovery' }],
      egressSecurityRules: [],
    });

    const subnet = (sid: string, cidrVar: string, dnsLabel: string, isPublic: boolean): CoreSubnet =>
      new CoreSubnet(this, sid, {
        compartmentId, vcnId,
        cidrBlock: vars.string(cidrVar),
        displayName: `${namePrefix}-${sid}`,
        dnsLabel,
        prohibitPublicIpOnVnic: !isPublic,
        prohibitInternetIngress: !isPublic,
        routeTableId: isPublic ? publicRoutes.id : privateRoutes.id,
        securityListIds: [minimal.id],
      });
    this.publicSubnet = subnet('public', 'public_subnet_cidr', 'public', true);
    this.sourcesSubnet = subnet('sources', 'sources_subnet_cidr', 'sources', false);
    this.sinksSubnet = subnet('sinks', 'sinks_subnet_cidr', 'sinks', false);
  }
}
