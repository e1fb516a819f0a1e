#include "persistence/wal_reader.h"

#include <fstream>
#include <sstream>

#include "persistence/wal_format.h"

namespace stampede::wal {

namespace {

std::string base_name(const std::string& path) {
  auto slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

// Whether the bad record at `at`, with a valid one at `later`, is where a block of the last
// write never reached the disk. The writer zeroes a segment ahead of its records and syncs
// the zeros before any record goes there, and syncs each batch before writing the next, so
// a block the last (unsynced) write did not reach still reads as zeros, and the disk may
// have kept later blocks of that write: records never acknowledged. Its mark: zeros from
// `at` to a sector's end (the block held the last synced record's end and zeros after it),
// or a whole zero sector before `later`. Bit rot does not look like that; a lost sector of
// synced records would, and is taken for a torn write, as etcd and PostgreSQL take it. In a
// segment that is not the last, a torn write is still refused (recovery.cc).
bool never_written(std::string_view all, size_t at, size_t later) {
  constexpr size_t sector = 512;
  auto zeros = [&](size_t from, size_t to) {
    for (size_t k = from; k < to; ++k)
      if (all[k] != '\0') return false;
    return true;
  };
  size_t first_end = (at / sector + 1) * sector;
  if (first_end <= later && zeros(at, first_end)) return true;
  for (size_t s = first_end; s + sector <= later; s += sector)
    if (zeros(s, s + sector)) return true;
  return false;
}

}  // namespace

read_result read_log(const std::string& path, const std::function<void(effect&&)>& on_effect,
                     uint64_t first_sequence, uint64_t skip_through) {
  read_result r;
  r.last_sequence = first_sequence - 1;
  std::string data;
  {
    std::ifstream f(path, std::ios::binary | std::ios::ate);
    if (!f) return r;
    data.resize(static_cast<size_t>(f.tellg()));
    f.seekg(0);
    f.read(data.data(), static_cast<std::streamsize>(data.size()));
    if (!f) {
      r.corruption = base_name(path) + ": cannot be read";
      return r;
    }
  }
  std::string_view all(data);
  size_t at = 0;
  while (at < all.size()) {
    auto h = record_at(all, at);
    if (!h) {
      // Nothing but zeros from here: the end of the records (the writer zeroes ahead).
      size_t data_end = all.size();
      while (data_end > at && all[data_end - 1] == '\0') --data_end;
      if (data_end == at) break;
      // A bad record at the end is a torn write; one with a valid record after it is not,
      // unless it is a block of the last write that never reached the disk.
      // A record's type is never 0, so a valid one has a byte that is not zero before
      // data_end at its offset 8 or 9.
      for (size_t later = at + 1; later + header_size <= all.size() && later + 8 < data_end;
           ++later) {
        if (record_at(all, later)) {
          if (never_written(all, at, later)) break;  // the last write's, never acknowledged
          r.corruption = base_name(path) + ": corrupt record at offset " + std::to_string(at) +
                         " followed by a valid record at offset " + std::to_string(later);
          return r;
        }
      }
      r.torn_tail = true;
      break;
    }
    if (h->sequence != r.last_sequence + 1) {
      r.corruption = base_name(path) + ": record at offset " + std::to_string(at) +
                     " has sequence " + std::to_string(h->sequence) + ", expected " +
                     std::to_string(r.last_sequence + 1);
      return r;
    }
    if (h->sequence <= skip_through) {
      ++r.skipped;
      r.last_sequence = h->sequence;
      at += header_size + h->length;
      continue;
    }
    auto e = decode_effect(h->type, all.substr(at + header_size, h->length));
    if (!e) {
      r.corruption = base_name(path) + ": record at offset " + std::to_string(at) +
                     " (type " + std::to_string(h->type) + ") does not decode";
      return r;
    }
    on_effect(std::move(*e));
    ++r.records;
    r.last_sequence = h->sequence;
    at += header_size + h->length;
  }
  r.valid_bytes = at;
  return r;
}

}  // namespace stampede::wal
