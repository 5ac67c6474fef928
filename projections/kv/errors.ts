// The etcd v2 error table (etcd 3.4 etcdserver/api/v2error): code -> exact message and HTTP
// status, shared by the kv store (store errors) and by api/ (request-validation errors), so
// each message is spelled once. Must not hold behaviour beyond building the error value.

/** Error codes by etcd's own names (v2error.Ecode*), as plain numbers (erasable TS: no enum). */
export const Ecode = Object.freeze({
  KeyNotFound: 100,
  TestFailed: 101,
  NotFile: 102,
  NoMorePeer: 103,
  NotDir: 104,
  NodeExist: 105,
  KeyIsPreserved: 106,
  RootROnly: 107,
  DirNotEmpty: 108,
  ExistingPeerAddr: 109,
  Unauthorized: 110,

  ValueRequired: 200,
  PrevValueRequired: 201,
  TTLNaN: 202,
  IndexNaN: 203,
  ValueOrTTLRequired: 204,
  TimeoutNaN: 205,
  NameRequired: 206,
  IndexOrValueRequired: 207,
  IndexValueMutex: 208,
  InvalidField: 209,
  InvalidForm: 210,
  RefreshValue: 211,
  RefreshTTLRequired: 212,

  RaftInternal: 300,
  LeaderElect: 301,

  WatcherCleared: 400,
  EventIndexCleared: 401,
  StandbyInternal: 402,
  InvalidActiveSize: 403,
  InvalidRemoveDelay: 404,

  ClientInternal: 500,
});

/** The exact message etcd writes for each code. */
export const kvErrorMessages: ReadonlyMap<number, string> = new Map([
  [100, "Key not found"],
  [101, "Compare failed"],
  [102, "Not a file"],
  [103, "Reached the max number of peers in the cluster"],
  [104, "Not a directory"],
  [105, "Key already exists"],
  [106, "The prefix of given key is a keyword in etcd"],
  [107, "Root is read only"],
  [108, "Directory not empty"],
  [109, "Peer address has existed"],
  [110, "The request requires user authentication"],
  [200, "Value is Required in POST form"],
  [201, "PrevValue is Required in POST form"],
  [202, "The given TTL in POST form is not a number"],
  [203, "The given index in POST form is not a number"],
  [204, "Value or TTL is required in POST form"],
  [205, "The given timeout in POST form is not a number"],
  [206, "Name is required in POST form"],
  [207, "Index or value is required"],
  [208, "Index and value cannot both be specified"],
  [209, "Invalid field"],
  [210, "Invalid POST form"],
  [211, "Value provided on refresh"],
  [212, "A TTL must be provided on refresh"],
  [300, "Raft Internal Error"],
  [301, "During Leader Election"],
  [400, "watcher is cleared due to etcd recovery"],
  [401, "The event in requested index is outdated and cleared"],
  [402, "Standby Internal Error"],
  [403, "Invalid active size"],
  [404, "Standby remove delay"],
  [500, "Client Internal Error"],
]);

/** The wire shape of a v2 error body ({"errorCode","message","cause","index"}); cause omitted when empty. */
export interface KvError {
  errorCode: number;
  message: string;
  cause?: string;
  index: number;
}

/**
 * Builds an error with etcd's message for `code`. An empty cause is left out, as Go's
 * `omitempty` does. An unknown code is a programming error, so it gets an empty message
 * rather than a throw: errors are results here, never exceptions.
 */
export function kvError(code: number, cause: string, index: number): KvError {
  const message = kvErrorMessages.get(code) ?? "";
  // Built in wire order (errorCode, message, cause, index) so JSON.stringify matches etcd.
  return cause === "" ? { errorCode: code, message, index } : { errorCode: code, message, cause, index };
}

/** HTTP status for a v2 error code (v2error.errorStatus; every other code is 400). */
export function kvErrorHttpStatus(code: number): number {
  switch (code) {
    case 100:
      return 404;
    case 101:
    case 105:
      return 412;
    case 102:
    case 108:
      return 403;
    case 110:
      return 401;
    case 300:
    case 301:
      return 500;
    default:
      return 400;
  }
}
