// The DNS messages the jail's resolver reads and writes (RFC 1035 section 4): a query with one
// question in, a response with that question and its answers out. Bounded by construction: a
// message is parsed only within its own bytes, a name has at most 127 labels of at most 63 bytes
// (255 on the wire), compression pointers are refused in a question (clients never compress the
// one name they send), and a response is a few hundred bytes at most. Pure functions, no I/O;
// test/egress-dns.test.ts fuzzes them.

export const DnsType = { A: 1, NS: 2, CNAME: 5, SOA: 6, PTR: 12, MX: 15, TXT: 16, AAAA: 28, SRV: 33, OPT: 41, HTTPS: 65, ANY: 255 } as const;
export const DnsClass = { IN: 1, ANY: 255 } as const;
export const Rcode = { noError: 0, formErr: 1, servFail: 2, nxDomain: 3, notImp: 4, refused: 5 } as const;
export type Rcode = (typeof Rcode)[keyof typeof Rcode];

const HEADER = 12;
const MAX_NAME_WIRE = 255;

/** A message the resolver cannot read. `id` is set when the header was readable (a FORMERR
 * answer can then be sent). */
export class DnsFormatError extends Error {
  readonly code = "EDNSFORMAT";
  constructor(
    message: string,
    readonly id?: number,
  ) {
    super(message);
  }
}

export interface DnsQuestion {
  /** The labels as sent (case kept: a response echoes them byte for byte). */
  labels: readonly Buffer[];
  /** Lower-case ASCII text of the name without a trailing dot ("" for the root), or null when a
   * label holds a byte that cannot be in a host name ('.', controls, non-ASCII). */
  name: string | null;
  type: number;
  class: number;
}

export interface DnsQuery {
  id: number;
  /** The QR bit: set on a response, which a server never answers. */
  response: boolean;
  opcode: number;
  /** Recursion desired: echoed. */
  rd: boolean;
  /** Exactly one question (null when the message has none: only an error can be answered). */
  question: DnsQuestion | null;
}

/** Reads a query. Throws DnsFormatError for anything malformed. */
export function parseQuery(msg: Uint8Array): DnsQuery {
  if (msg.length < HEADER) throw new DnsFormatError(`a DNS message is at least ${HEADER} bytes, got ${msg.length}`);
  const b = Buffer.from(msg.buffer, msg.byteOffset, msg.length);
  const id = b.readUInt16BE(0);
  const flags = b.readUInt16BE(2);
  const qd = b.readUInt16BE(4);
  const q: DnsQuery = { id, response: (flags & 0x8000) !== 0, opcode: (flags >> 11) & 0xf, rd: (flags & 0x0100) !== 0, question: null };
  if (qd === 0) return q;
  if (qd !== 1) throw new DnsFormatError(`${qd} questions in one query`, id);
  const labels: Buffer[] = [];
  let pos = HEADER;
  let wire = 0;
  for (;;) {
    if (pos >= b.length) throw new DnsFormatError("the question ends inside its name", id);
    const len = b[pos]!;
    if (len & 0xc0) throw new DnsFormatError("a compressed or extended label in the question", id);
    wire += len + 1;
    if (wire > MAX_NAME_WIRE) throw new DnsFormatError("a name longer than 255 bytes", id);
    pos++;
    if (len === 0) break;
    if (pos + len > b.length) throw new DnsFormatError("the question ends inside a label", id);
    labels.push(Buffer.from(b.subarray(pos, pos + len)));
    pos += len;
  }
  if (pos + 4 > b.length) throw new DnsFormatError("the question has no type and class", id);
  q.question = { labels, name: nameText(labels), type: b.readUInt16BE(pos), class: b.readUInt16BE(pos + 2) };
  // What follows (EDNS's OPT record in the additional section) is not needed to answer: ignored.
  return q;
}

function nameText(labels: readonly Buffer[]): string | null {
  for (const l of labels) for (const c of l) if (c <= 0x20 || c >= 0x7f || c === 0x2e) return null;
  return labels.map((l) => l.toString("latin1").toLowerCase()).join(".");
}

/** A record of the answer section; its owner is always the question's name. */
export type DnsAnswer =
  | { type: typeof DnsType.A; ttl: number; address: Uint8Array }
  | { type: typeof DnsType.AAAA; ttl: number; address: Uint8Array }
  | { type: typeof DnsType.PTR; ttl: number; name: string };

function encodeName(labels: readonly Buffer[]): Buffer {
  return Buffer.concat([...labels.flatMap((l) => [Buffer.from([l.length]), l]), Buffer.from([0])]);
}

/** A host name as labels (for PTR data). Throws for a label the wire cannot carry. */
export function labelsOf(name: string): Buffer[] {
  const labels = name === "" ? [] : name.split(".").map((l) => Buffer.from(l, "latin1"));
  for (const l of labels) if (l.length === 0 || l.length > 63) throw new DnsFormatError(`cannot encode the name ${JSON.stringify(name)}`);
  if (labels.reduce((n, l) => n + l.length + 1, 1) > MAX_NAME_WIRE) throw new DnsFormatError("a name longer than 255 bytes");
  return labels;
}

/**
 * The response to q: the header (QR, AA and RA set, RD echoed, the rcode), the question as it was
 * asked, and the answers (owner: a pointer to the question's name). No question: header only.
 */
export function encodeResponse(q: DnsQuery, rcode: Rcode, answers: readonly DnsAnswer[] = []): Buffer {
  const h = Buffer.alloc(HEADER);
  h.writeUInt16BE(q.id, 0);
  h.writeUInt16BE(0x8000 | ((q.opcode & 0xf) << 11) | 0x0400 | (q.rd ? 0x0100 : 0) | 0x0080 | (rcode & 0xf), 2);
  if (q.question === null) return h;
  h.writeUInt16BE(1, 4);
  h.writeUInt16BE(answers.length, 6);
  const parts: Buffer[] = [h, encodeName(q.question.labels)];
  const tc = Buffer.alloc(4);
  tc.writeUInt16BE(q.question.type, 0);
  tc.writeUInt16BE(q.question.class, 2);
  parts.push(tc);
  for (const a of answers) {
    const data = a.type === DnsType.PTR ? encodeName(labelsOf(a.name)) : Buffer.from(a.address);
    const rr = Buffer.alloc(12);
    rr.writeUInt16BE(0xc000 | HEADER, 0); // the question's name
    rr.writeUInt16BE(a.type, 2);
    rr.writeUInt16BE(DnsClass.IN, 4);
    rr.writeUInt32BE(a.ttl >>> 0, 6);
    rr.writeUInt16BE(data.length, 10);
    parts.push(rr, data);
  }
  return Buffer.concat(parts);
}
