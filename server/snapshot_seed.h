// Seeding a replicating node that fell behind its streams' purge point: a copy of a peer's
// snapshot store, fetched with GET /v1/admin/snapshot (handlers/cluster.cc streams a compact
// LMDB copy) and checked before it replaces this node's own. Plain blocking sockets, http://
// peers only: called on the main thread while the node has no engine (nothing else runs).
#pragma once

#include <cstdint>
#include <string>

namespace stampede::http {

// How GET /v1/admin/snapshot ends a whole copy: this magic and the copy's length in bytes
// (u64 LE), so that a copy cut short (a peer that died, a failed copy) is never taken.
inline constexpr char snapshot_trailer_magic[16] = {'S', 'T', 'A', 'M', 'P', 'E', 'D', 'E',
                                                    '-', 'S', 'N', 'A', 'P', '-', 'O', 'K'};
inline constexpr size_t snapshot_trailer_bytes = sizeof(snapshot_trailer_magic) + 8;
// How long the whole fetch may take without a byte arriving.
inline constexpr int snapshot_fetch_idle_s = 30;

// Fetches `peer_url`'s snapshot (an admin bearer `token`) into the file `out_path` (the
// trailer checked and cut off, the file synced; its length in `bytes`). "" or what went wrong.
std::string fetch_snapshot(const std::string& peer_url, const std::string& token,
                           const std::string& out_path, uint64_t& bytes);

}  // namespace stampede::http
