// The portable log export (`coreplane log export`): one file someone can attach to a bug report,
// read back by every other log command with --file. A CBOR sequence (RFC 8742):
//   1. 55799(24(bstr header))  - the self-describe magic d9 d9 f7, then the header as embedded
//      CBOR: {format, version, memberId, clusterId, firstIndex, lastIndex, commitIndex, term,
//      snapshots: [{index, term, data}], exportedAtMs, source}
//   2. one [index, term, type, bstr data] per entry, in index order, with Entry.data byte for
//      byte as stored, so each envelope's CRC still verifies.
// Entries are framed by hand (four fixed kinds of CBOR item), so reading a million of them is a
// loop over a buffer with zero-copy subarrays. Must not interpret entry data (projections/ does).

import { closeSync, openSync, readFileSync, writeSync } from "node:fs";
import { decodeCbor, encodeCbor, type Index, type Term } from "../../internal/mod.ts";
import type { Entry, EntryType } from "../../log/mod.ts";

export const LOG_FILE_FORMAT = "coreplane-log-export";
export const LOG_FILE_VERSION = 1;
const MAGIC = [0xd9, 0xd9, 0xf7];
const WRITE_BUFFER_BYTES = 1 << 20;

export interface LogFileSnapshot {
  readonly index: Index;
  readonly term: Term;
  /** projections/snapshot.ts bytes, as stored. */
  readonly data: Uint8Array;
}

export interface LogFileHeader {
  readonly format: typeof LOG_FILE_FORMAT;
  readonly version: number;
  readonly memberId: string;
  readonly clusterId: string;
  /** The range of entries that follow (firstIndex > lastIndex when none do). */
  readonly firstIndex: Index;
  readonly lastIndex: Index;
  /** The source's hard state when exported. */
  readonly commitIndex: Index;
  readonly term: Term;
  /** Voters of the source's configuration (absent in files that did not record them). */
  readonly voters?: readonly string[];
  /** Stored snapshots that the range can replay from (index >= firstIndex - 1, <= lastIndex). */
  readonly snapshots: readonly LogFileSnapshot[];
  readonly exportedAtMs: number;
  /** Where it came from, for the reader's orientation only. */
  readonly source: string;
}

/** An export file that is not one, or is cut short. */
export class LogFileError extends Error {
  override name = "LogFileError";
  readonly code = "cli/bad-log-file";
}

/** Streams an export to `path`: the header now, then entries as they are added. */
export class LogFileWriter {
  readonly #fd: number;
  #buf = new Uint8Array(WRITE_BUFFER_BYTES);
  #len = 0;
  #count = 0;

  constructor(path: string, header: LogFileHeader) {
    this.#fd = openSync(path, "w");
    const h = encodeCbor(header);
    this.#put(MAGIC);
    this.#put([0xd8, 24]);
    this.#head(2, h.length);
    this.#bytes(h);
  }

  get count(): number {
    return this.#count;
  }

  add(e: Entry): void {
    this.#put([0x84]);
    this.#head(0, e.index);
    this.#head(0, e.term);
    this.#head(0, e.type);
    this.#head(2, e.data.length);
    this.#bytes(e.data);
    this.#count++;
  }

  close(): void {
    this.#flush();
    closeSync(this.#fd);
  }

  #put(bytes: readonly number[]): void {
    if (this.#len + bytes.length > this.#buf.length) this.#flush();
    for (const b of bytes) this.#buf[this.#len++] = b;
  }

  #bytes(b: Uint8Array): void {
    if (this.#len + b.length > this.#buf.length) this.#flush();
    if (b.length > this.#buf.length) {
      writeSync(this.#fd, b);
      return;
    }
    this.#buf.set(b, this.#len);
    this.#len += b.length;
  }

  /** A CBOR head: major type and argument (uint value or length). */
  #head(major: number, n: number): void {
    const m = major << 5;
    if (n < 24) this.#put([m | n]);
    else if (n < 0x100) this.#put([m | 24, n]);
    else if (n < 0x10000) this.#put([m | 25, n >>> 8, n & 0xff]);
    else if (n < 0x100000000) this.#put([m | 26, n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff]);
    else {
      const hi = Math.floor(n / 0x100000000);
      const lo = n >>> 0;
      this.#put([m | 27, hi >>> 24, (hi >>> 16) & 0xff, (hi >>> 8) & 0xff, hi & 0xff, lo >>> 24, (lo >>> 16) & 0xff, (lo >>> 8) & 0xff, lo & 0xff]);
    }
  }

  #flush(): void {
    if (this.#len > 0) writeSync(this.#fd, this.#buf.subarray(0, this.#len));
    this.#len = 0;
  }
}

/** A whole export file in memory: its header and its entries (data are views into the file). */
export interface LogFile {
  readonly header: LogFileHeader;
  readonly entries: Entry[];
}

/** Reads and checks the framing of an export file. Entry CRCs are checked by whoever decodes them. */
export function readLogFile(path: string): LogFile {
  let buf: Uint8Array;
  try {
    buf = readFileSync(path);
  } catch (e) {
    throw new LogFileError(`cannot read ${path}: ${(e as Error).message}`);
  }
  const r = new Reader(buf, path);
  if (buf.length < 5 || buf[0] !== MAGIC[0] || buf[1] !== MAGIC[1] || buf[2] !== MAGIC[2] || buf[3] !== 0xd8 || buf[4] !== 24) {
    throw new LogFileError(`${path} is not a coreplane log export (it does not start with the CBOR magic d9d9f7 and tag 24)`);
  }
  r.pos = 5;
  const headerBytes = r.bytes();
  let header: LogFileHeader;
  try {
    header = decodeCbor<LogFileHeader>(headerBytes);
  } catch (e) {
    throw new LogFileError(`${path}: the header does not decode (${(e as Error).message})`);
  }
  if (header?.format !== LOG_FILE_FORMAT) throw new LogFileError(`${path}: header format is "${header?.format}", not "${LOG_FILE_FORMAT}"`);
  if (header.version !== LOG_FILE_VERSION) {
    throw new LogFileError(`${path}: export format version ${header.version}; this coreplane reads version ${LOG_FILE_VERSION}`);
  }
  const entries: Entry[] = [];
  while (r.pos < buf.length) {
    const at = r.pos;
    if (buf[r.pos++] !== 0x84) throw new LogFileError(`${path}: byte ${at} does not start an entry (after ${entries.length} entries)`);
    const index = r.uint();
    const term = r.uint();
    const type = r.uint() as EntryType;
    const data = r.bytes();
    entries.push({ index, term, type, data });
  }
  return { header, entries };
}

class Reader {
  pos = 0;
  readonly #b: Uint8Array;
  readonly #path: string;
  constructor(b: Uint8Array, path: string) {
    this.#b = b;
    this.#path = path;
  }

  #arg(major: number): number {
    const b = this.#b;
    if (this.pos >= b.length) throw this.#cut();
    const ib = b[this.pos++];
    if (ib >> 5 !== major) throw new LogFileError(`${this.#path}: byte ${this.pos - 1}: CBOR major type ${ib >> 5}, expected ${major}`);
    const ai = ib & 31;
    if (ai < 24) return ai;
    const n = ai === 24 ? 1 : ai === 25 ? 2 : ai === 26 ? 4 : ai === 27 ? 8 : 0;
    if (n === 0) throw new LogFileError(`${this.#path}: byte ${this.pos - 1}: unsupported CBOR argument ${ai}`);
    if (this.pos + n > b.length) throw this.#cut();
    let v = 0;
    for (let i = 0; i < n; i++) v = v * 256 + b[this.pos++];
    return v;
  }

  uint(): number {
    return this.#arg(0);
  }

  bytes(): Uint8Array {
    const n = this.#arg(2);
    if (this.pos + n > this.#b.length) throw this.#cut();
    const out = this.#b.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  #cut(): LogFileError {
    return new LogFileError(`${this.#path} is cut short at byte ${this.pos} (the export was not completed or the file was truncated)`);
  }
}
