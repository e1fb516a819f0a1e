// The files of a data directory (see recovery.h for the whole layout):
//
//   MANIFEST                         format and shard count
//   LOCK                             flock'ed by the process that owns the directory
//   wal-<shard>-<first seq>.log      write-ahead log segments; <first seq> is the sequence
//                                    number of the segment's first record, 20 digits, so
//                                    names sort in log order
//   snapshot/                        the LMDB environment of snapshots (snapshot.h)
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace stampede::wal {

struct segment {
  uint64_t first_sequence = 0;
  std::string path;
};

// Takes the directory for this process: creates it if it is missing, then locks <dir>/LOCK
// (one process per data directory). Returns the lock's descriptor, or -1 with `why` saying
// what is wrong in words an operator acts on: not a directory, not writable, on a read-only
// file system, in use by another stampede.
int lock_data_dir(const std::string& dir, std::string& why);

std::string segment_path(const std::string& dir, uint32_t shard, uint64_t first_sequence);
// The shard's segments, in log order. A name that does not parse is not a segment.
std::vector<segment> list_segments(const std::string& dir, uint32_t shard);
// Bytes in every shard's segments.
uint64_t log_bytes(const std::string& dir);
// Makes the directory's entries (files created, renamed or removed) durable.
bool sync_dir(const std::string& dir);
// Creates a new empty segment and makes its name durable; returns the descriptor
// (write-only; the writer says where each write goes) or -1 with errno set.
int create_segment(const std::string& path);
// Writes all `n` bytes at `p` to `fd`, through short writes and EINTR; false on an error.
bool write_all(int fd, const char* p, size_t n);
// The same at offset `at` of `fd` (pwrite: the file's offset does not move).
bool pwrite_all(int fd, const char* p, size_t n, uint64_t at);
// Of `segments` (in log order), the ones whose every record is at or before `covered`:
// all but the last, up to the first whose successor starts after covered + 1.
size_t covered_prefix(const std::vector<segment>& segments, uint64_t covered);

}  // namespace stampede::wal
