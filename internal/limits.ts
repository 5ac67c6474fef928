// Every bound the daemon enforces, in one place, with its unit last in the name. Defaults mirror
// etcd 3.4 where etcd has the same knob. Must not hold anything that is not a limit or a default.

export const limits = Object.freeze({
  /** etcd's v2 default max request size is 1.5 MiB. */
  valueBytesMax: 1.5 * 1024 * 1024,
  /** Longest key path accepted, in bytes. */
  keyBytesMax: 64 * 1024,
  /** Events kept for watches that start from a past index (etcd: 1000). */
  eventHistoryMax: 1000,
  /** Events buffered for one streaming watcher before the stream is closed (etcd: 100). */
  watcherEventsBufferMax: 100,
  /** Idle long-poll watchers one member serves at once. */
  watchersMax: 1_000_000,
  /** Proposals waiting for commit before new ones are refused with a busy error. */
  pendingProposalsMax: 100_000,
  /** Bytes of entries per append message (etcd: 1 MiB). */
  appendBytesMax: 1024 * 1024,
  /** Append messages in flight per follower (etcd: 512). */
  inflightMessagesMax: 512,
  /** Entries kept behind a snapshot for slow followers (etcd: 5000). */
  catchUpEntries: 5000,
  /**
   * Default snapshot interval in applied entries (etcd 3.2 and later: 100,000; 10,000 before). A
   * snapshot encodes every projection on the event loop, so its interval is also how often a member
   * pauses: every 10,000 entries made a busy member pause every few seconds.
   */
  snapshotCountDefault: 100_000,
  /** Default heartbeat interval (etcd: 100 ms). */
  heartbeatIntervalMsDefault: 100,
  /** Default election timeout (etcd: 1000 ms). */
  electionTimeoutMsDefault: 1000,
  /**
   * Width of the randomized election timeout, as a fraction of the election timeout (etcd: 1, so
   * [1,000, 2,000) ms by default). 0.3 gives [1,000, 1,300) ms: a leader's death costs at most about
   * 1.3 s plus one election round, where etcd's worst case is near 2 s.
   */
  electionJitterFraction: 0.3,
  /** How often the leader proposes kv/expire while TTL keys exist (etcd SYNC: 500 ms). */
  expireTickMs: 500,
  /** How long a write waits for commit before answering 300 "request timed out" (etcd: ~7 s). */
  proposalTimeoutMs: 7000,
  /** Read index rounds one member has in flight; quorum reads arriving meanwhile wait for the next. */
  readIndexRoundsInFlightMax: 1,
  /** A read index round not answered within this is asked again (a lost message, a new leader). */
  readIndexRetryMs: 500,
  /** Bytes queued on one peer connection beyond which messages to that peer are dropped. */
  peerQueueBytesMax: 64 * 1024 * 1024,
  /** Snapshots stream to a peer in chunks of this many bytes. */
  snapshotChunkBytes: 1024 * 1024,
  /** Largest snapshot a member accepts from a peer, in bytes. */
  snapshotBytesMax: 1024 * 1024 * 1024,
  /** How long a stopping member waits for open client connections (long-poll watchers) to finish. */
  shutdownGraceMs: 1000,
  /** Largest HTTP request body read, in bytes (value limit plus form overhead). */
  requestBodyBytesMax: 4 * 1024 * 1024,

  // --- the peer port: what one peer (or anything that reaches the port) may cost a member ---
  /**
   * One budget, in bytes, for everything the peer port buffers at once across all its connections:
   * frames being reassembled and snapshot data being received. Reserved from the ANNOUNCED size (a
   * frame's 4-byte length, a snapshot header's data length) before any byte is buffered; a
   * connection whose announcement does not fit is dropped. One largest snapshot (one is received at
   * a time, its buffer grows as chunks arrive) plus the frames' share, peerFramesBytesMax.
   */
  peerReceiveBytesMax: 1024 * 1024 * 1024 + 64 * 1024 * 1024,
  /**
   * Of peerReceiveBytesMax, what frames being reassembled may hold across all connections at once.
   * A legitimate member has at most one frame (about peerFrameBytesTarget) in reassembly per stream.
   */
  peerFramesBytesMax: 64 * 1024 * 1024,
  /**
   * Largest frame the peer port reassembles, in bytes. The sender (node/transport.ts) cuts a batch
   * into frames of about peerFrameBytesTarget; one message is at most an append of 1 MiB plus one
   * entry (a value of 1.5 MiB and its key), so 16 MiB is ample headroom.
   */
  peerFrameBytesMax: 16 * 1024 * 1024,
  /**
   * Frames up to this size are not reserved from the shared budget: heartbeats, votes, their
   * answers and append acknowledgements must get through while others hold the budget (a peer
   * id is public, so anyone can hold it with unfinished big frames, and a leader that hears no
   * acknowledgement steps down). Bounded anyway: one frame in reassembly per connection, and
   * peerConnectionsMax connections, so at most 8 MiB.
   */
  peerSmallFrameBytes: 64 * 1024,
  /** A batch of messages for one peer and channel is cut into frames of about this many bytes. */
  peerFrameBytesTarget: 4 * 1024 * 1024,
  /** Connections the peer listener holds at once; more are answered `ERR too many connections` / 503 and closed (etcd: no cap). */
  peerConnectionsMax: 128,
  /** A connection must send its first line (the Raft handshake) within this many ms. */
  peerHandshakeTimeoutMs: 5000,
  /** An HTTP request on the peer port (/members, /version, /health) must send its head within this many ms. */
  peerHttpHeaderTimeoutMs: 5000,
  /**
   * A Raft stream on which nothing arrives for this long is closed by the receiver (etcd: 5 s read
   * timeout on its streams, which carry a link heartbeat). Senders keep idle streams alive with an
   * empty frame every peerStreamKeepaliveMs, so only a dead or abusive sender hits this.
   */
  peerStreamIdleTimeoutMs: 30_000,
  /** A sender writes an empty frame on a stream that carried nothing for this long (etcd: 5 s / 3). */
  peerStreamKeepaliveMs: 5000,
  /** One warning per sender and reason per this many ms on the peer port; the rest are only counted. */
  peerWarnIntervalMs: 10_000,
  /** After an accept error (EMFILE, ENFILE) the peer listener logs again only after this many ms. */
  peerAcceptErrorLogIntervalMs: 10_000,
  /**
   * How often the peer listener connects to itself to check it still accepts (Deno's node:net stops
   * accepting for good after one EMFILE, silently); a listener that does not accept is opened anew.
   */
  peerListenerProbeMs: 5000,
  // Shapes of what one frame may hold (node/message_codec.ts refuses a frame that exceeds one).
  /** Messages in one peer frame. A sender's batch is one Ready's messages to one peer: hundreds, not tens of thousands. */
  peerMessagesPerFrameMax: 65_536,
  /**
   * Entries in one peer message. An append holds at most appendBytesMax of entry data, but empty
   * entries (leader no-ops) count 0 bytes there, so the bound is generous rather than tight.
   */
  peerEntriesPerMessageMax: 1024 * 1024,
  /** Ids in a snapshot's voters, and again in its learners (etcd has no cap; clusters hold a handful). */
  peerConfStateIdsMax: 4096,
  /** Bytes of a message's context (read request ids, the leadership-transfer marker: tens of bytes). */
  peerContextBytesMax: 64 * 1024,
  /**
   * Largest term a peer may send. Headroom below 2^53 so that term + 1 stays an exact integer for
   * ever: a forged huge term still forces elections, but cannot push terms past what the wire carries.
   */
  peerTermMax: 2 ** 52,

  // --- the client port: connections, timeouts and bodies ---
  /**
   * Client connections one listener holds at once; one more gets a 503 and is closed. When the
   * flag is not given, the member also keeps clientReserveFds below its soft file-descriptor
   * limit (read from /proc/self/limits), so connections cannot starve SQLite and the peer port.
   */
  clientConnectionsMax: 10_000,
  /** File descriptors left to the rest of the member when the connection cap follows the fd limit. */
  clientReserveFds: 64,
  /** A new connection must finish a request head within this (slowloris, connect-and-wait). */
  clientHeaderTimeoutMs: 10_000,
  /**
   * A request with a body must be received whole, and on Deno also answered, within this many ms
   * of its start (a body that stalls: slowloris on the body). Above proposalTimeoutMs, so a write
   * that waits for its commit is never cut; watches are GETs without a body and never count.
   */
  clientBodyTimeoutMs: 30_000,
  /** On Deno, a connection whose request body missed clientBodyTimeoutMs is closed this long after its 400 was handed over. */
  clientLateBodyCloseMs: 50,
  /**
   * A keep-alive connection with nothing in flight is closed after this. Time spent in a
   * handler or streaming a response body (long-poll and streaming watches) never counts.
   */
  clientIdleTimeoutMs: 120_000,
  /** First pause after a failed accept (EMFILE and the like); doubles per failure, as Go's http.Server. */
  clientAcceptBackoffMinMs: 5,
  /** Longest pause between accept attempts while they keep failing. */
  clientAcceptBackoffMaxMs: 1000,
  /** A refused (over-cap) connection is read this long after the 503, so the client gets it before the close. */
  clientRefusalLingerMs: 1000,
  /**
   * Refused connections lingering at once; past this a refused connection is closed right after its
   * 503. Each holds a file descriptor, taken from the clientReserveFds the cap leaves to the member.
   */
  clientRefusalsLingeringMax: 16,

  // --- the store: shapes of keys and reads ---
  /**
   * Path segments a written key may have (PUT and POST; POST's generated name counts). etcd has no
   * bound, but Go's encoding/json refuses to decode nesting deeper than 10,000, and a recursive
   * listing nests two levels per segment, so past ~4,999 segments no Go client (etcdctl, the v2
   * client) can read a listing above the key; and since every node repeats its full key, a
   * listing grows with depth squared (a 9,000-deep key of one-letter names makes every recursive
   * GET above it 81 MB). Reads, deletes and replay of a deeper key already in a log still work
   * (the store and its JSON have no recursion).
   */
  keyDepthMax: 1000,
  /** A listing's JSON is written in UTF-8 chunks of this many bytes; a longer one is streamed. */
  listingChunkBytes: 64 * 1024,
  /**
   * Bytes of large listings' encodings kept for sharing: reads of the same node with the same
   * flags share one encoding while no write touched the node's subtree (the concurrent reads of
   * a big directory cost one encoding and one copy of its bytes, not one each).
   */
  sharedListingBytesMax: 64 * 1024 * 1024,

  // --- storage and membership: what a member keeps and reads of its own log ---
  /**
   * Newest log entries a member keeps in memory (node/storage_sqlite.ts), in entries: the Raft
   * core's reads of recent entries (appends to followers, term checks, applying) never touch SQLite.
   * The cache may run a quarter over before it is trimmed, so a trim is not paid per batch.
   */
  tailCacheEntries: 16_384,
  /**
   * Snapshots kept in the data dir, in snapshots: the newest, which a restart starts from, and the
   * one before it, from which the offline log tools still rebuild states while the entries after it
   * are stored (and which `log repair --force` falls back to when it deletes the newest). Older
   * ones are deleted as a new one is stored.
   */
  snapshotsKeptSnapshots: 2,
  /**
   * Newest log entries read, in entries, to find whether a Raft stream's sender is a member being
   * added by a conf change not yet applied (node/membership.ts knownSender): a sender must not make
   * a member read its whole log, and a pending addition sits near the end of it.
   */
  knownSenderScanEntries: 4096,
});

export type Limits = typeof limits;
