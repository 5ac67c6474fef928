// The in-memory twin under the shared LogStorage contract.
import { MemoryStorage } from "../../log/memory_storage.ts";
import { runStorageContract } from "./storage_contract.ts";

runStorageContract("memory", () => {
  const m = new MemoryStorage();
  return Promise.resolve({
    storage: m,
    append: (es) => m.append(es),
    setHardState: (hs) => m.setHardState(hs),
    snapshotAndCompact: (i, cs, data) => {
      m.createSnapshot(i, cs, data);
      m.compact(i);
    },
    reopen: () => Promise.resolve(m),
    close: () => {},
  });
});
