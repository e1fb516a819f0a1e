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
      // A bad record at the end is a torn write; one with a valid record after it is not.
      // A record's type is never 0, so a valid one has a byte that is not zero before
      // data_end at its offset 8 or 9.
      for (size_t later = at + 1; later + header_size <= all.size() && later + 8 < data_end;
           ++later) {
        if (record_at(all, later)) {
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
