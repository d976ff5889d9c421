// Cloud metadata and platform credential endpoints: the one list. The egress proxy refuses them
// whatever name resolves there (classify.ts: kind "metadata", unlocked only by an --allow-net entry
// naming the exact address); the supervisor refuses a connect() to them and logs it by this name
// (supervisor/tables.ts, ESCAPES.md 41). Each name starts with "cloud metadata".
export interface MetadataAddress {
  /** Canonical IP text. */
  address: string;
  name: string;
}

export const METADATA_ADDRESSES: readonly MetadataAddress[] = Object.freeze([
  { address: "169.254.169.254", name: "cloud metadata (AWS, GCP, Azure, OCI, DigitalOcean, OpenStack)" },
  { address: "169.254.170.2", name: "cloud metadata (AWS ECS task credentials)" },
  { address: "169.254.170.23", name: "cloud metadata (AWS EKS Pod Identity agent)" },
  { address: "100.100.100.200", name: "cloud metadata (Alibaba)" },
  { address: "168.63.129.16", name: "cloud metadata (Azure WireServer)" },
  { address: "192.0.0.192", name: "cloud metadata (Oracle Cloud, legacy)" },
  { address: "fd00:ec2::254", name: "cloud metadata (AWS IPv6)" },
  { address: "fd00:ec2::23", name: "cloud metadata (AWS EKS Pod Identity, IPv6)" },
]);
