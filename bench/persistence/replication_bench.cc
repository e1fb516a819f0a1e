// The replicated log's costs on this machine, against three local nats-servers (R3, file
// storage, loopback): publish rate and ack latency of group-commit-sized batches, the rate
// a tail replays records at, and the latency of a takeover append. Each figure comes with a
// peer measured in the same run (an fdatasync of the same bytes; decoding the same records
// from memory), since the machine is shared and absolute figures move. BENCHMARKS.md.
//
//   replication_bench [seconds per publish case, default 5] [records to replay, default 1M]
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

#include "persistence/nats_stream.h"
#include "persistence/stream_frame.h"
#include "persistence/stream_publisher.h"
#include "persistence/wal_format.h"
#include "tests/persistence/nats_cluster.h"

namespace stampede::repl {
namespace {

using clock_type = std::chrono::steady_clock;

double us_since(clock_type::time_point t) {
  return std::chrono::duration<double, std::micro>(clock_type::now() - t).count();
}

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())))];
}

// Records of about `bytes` in all, numbered from `first`; returns the last number.
uint64_t make_records(std::string& out, uint64_t first, size_t bytes, size_t id_bytes) {
  uint64_t lsn = first - 1;
  while (out.size() < bytes)
    (void)wal::append_record(out, ++lsn, on_hand_set{std::string(id_bytes, 'p'), int64_t(lsn)});
  return lsn;
}

stream_config config_for(const char* name) {
  stream_config c;
  c.cluster = name;
  c.replicas = 3;
  return c;
}

// Submits batches to a publisher keeping at most `queued_max` unconfirmed (as a busy
// shard's log would), and times each from its submission to the outcome that covers it.
class timed_submitter {
 public:
  explicit timed_submitter(size_t queued_max) : queued_max_(queued_max) {}
  stream_publisher::outcome_handler handler() {
    return [this](const publish_outcome& o) {
      std::lock_guard lock(mu_);
      published_ = o.last_lsn;
      while (!pending_.empty() && pending_.begin()->first <= published_) {
        latencies_us.push_back(us_since(pending_.begin()->second));
        pending_.erase(pending_.begin());
      }
      cv_.notify_all();
    };
  }
  void submit(stream_publisher& p, std::string batch, uint64_t last_lsn) {
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [&] { return pending_.size() < queued_max_; });
      pending_.emplace(last_lsn, clock_type::now());
    }
    p.submit(std::move(batch), last_lsn);
  }
  void wait_all() {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return pending_.empty(); });
  }
  std::vector<double> latencies_us;  // read after wait_all()

 private:
  size_t queued_max_;
  std::mutex mu_;
  std::condition_variable cv_;
  uint64_t published_ = 0;
  std::map<uint64_t, clock_type::time_point> pending_;  // last lsn of a batch -> when
};

publisher_position take_over(shard_stream& s) {
  for (;;) {
    auto st = s.ensure();
    if (!st || st->leader.empty()) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      continue;
    }
    frame_writer w{1, "bench"};
    auto r = s.append(encode_frame(frame_kind::takeover, w, 0, "http://bench"), st->last_seq,
                      msg_id(s.config().cluster, 0, w, 1), nats_request_wait_ms);
    if (r.status == append_status::appended) return {1, "bench", "http://bench", r.sequence, 0, 1};
  }
}

// fdatasync of `bytes`-sized appends to a fresh file: the local half of the ack point.
std::vector<double> fdatasync_us(size_t bytes, int count) {
  char path[] = "/tmp/stampede-bench-sync-XXXXXX";
  int fd = ::mkstemp(path);
  std::string block(bytes, 'x');
  std::vector<double> out;
  for (int i = 0; i < count; ++i) {
    auto t = clock_type::now();
    if (::write(fd, block.data(), block.size()) != static_cast<ssize_t>(bytes) ||
        ::fdatasync(fd) != 0)
      std::abort();
    out.push_back(us_since(t));
  }
  ::close(fd);
  ::unlink(path);
  return out;
}

// Batches of `batch_bytes`, at most `in_flight` frames on the wire, as fast as acks allow.
void publish_case(nats_connection& c, const char* name, size_t batch_bytes, size_t in_flight,
                  double seconds) {
  stream_config config = config_for(name);
  shard_stream s(c, config);
  publisher_position start = take_over(s);
  // One batch queued behind what is on the wire, as a busy shard would have.
  timed_submitter submitter(in_flight + 1);
  stream_publisher p(c, config, start, submitter.handler(),
                     {in_flight, publisher_batches_queued_max, 2000, 0});
  uint64_t lsn = 0;
  size_t batches = 0;
  auto begin = clock_type::now();
  auto end = begin + std::chrono::duration<double>(seconds);
  while (clock_type::now() < end) {
    std::string batch;
    lsn = make_records(batch, lsn + 1, batch_bytes, 24);
    submitter.submit(p, std::move(batch), lsn);
    ++batches;
  }
  submitter.wait_all();
  const auto& latencies = submitter.latencies_us;
  double elapsed = std::chrono::duration<double>(clock_type::now() - begin).count();
  auto sync = fdatasync_us(batch_bytes, 200);
  double ack_p50 = percentile(latencies, 0.5), sync_p50 = percentile(sync, 0.5);
  std::printf(
      "publish %4zu B batches, %2zu in flight: %7.0f batches/s (%5.1f MB/s); ack p50 %6.0f us "
      "p99 %6.0f us; fdatasync of %zu B in the same run p50 %5.0f us p99 %5.0f us: ack p50 = "
      "%.2fx fdatasync p50\n",
      batch_bytes, in_flight, batches / elapsed, batches * batch_bytes / elapsed / 1e6, ack_p50,
      percentile(latencies, 0.99), batch_bytes, sync_p50, percentile(sync, 0.99),
      ack_p50 / sync_p50);
}

// Decodes every effect of a BATCH body; returns how many.
uint64_t decode_records(std::string_view body) {
  uint64_t n = 0;
  for (size_t at = 0; at < body.size();) {
    auto h = wal::record_at(body, at);
    if (!h || !wal::decode_effect(h->type, body.substr(at + wal::header_size, h->length)))
      std::abort();
    at += wal::header_size + h->length;
    ++n;
  }
  return n;
}

void replay_case(nats_connection& c, uint64_t records) {
  stream_config config = config_for("replay");
  shard_stream s(c, config);
  publisher_position start = take_over(s);
  constexpr size_t batch_bytes = 256 * 1024;  // a busy shard's group commit
  std::vector<std::string> bodies;
  {
    timed_submitter submitter(publisher_batches_queued_max / 2);
    stream_publisher p(c, config, start, submitter.handler(),
                       {16, publisher_batches_queued_max, 5000, 0});
    for (uint64_t lsn = 0; lsn < records;) {
      std::string batch;
      lsn = make_records(batch, lsn + 1, batch_bytes, 16);
      bodies.push_back(batch);
      submitter.submit(p, std::move(batch), lsn);
    }
    submitter.wait_all();
  }
  uint64_t last_seq = s.info()->last_seq;
  // The peer: the same records decoded from memory.
  auto t0 = clock_type::now();
  uint64_t decoded = 0;
  for (const auto& b : bodies) decoded += decode_records(b);
  double memory_s = us_since(t0) / 1e6;
  // The tail: from the start of the stream, decoding every record as it arrives.
  std::mutex mu;
  std::condition_variable cv;
  uint64_t replayed = 0, through = 0;
  std::atomic<stream_tail*> tail_ptr{nullptr};
  auto t1 = clock_type::now();
  stream_tail tail(c, config, 1, [&](stream_tail::message&& m) {
    auto f = decode_frame(m.data);
    uint64_t n = f && f->kind == frame_kind::batch ? decode_records(f->body) : 0;
    std::lock_guard lock(mu);
    replayed += n;
    through = m.sequence;
    if (stream_tail* t = tail_ptr.load()) t->consumed();
    cv.notify_all();
  });
  tail_ptr = &tail;
  tail.consumed(tail_window_messages);  // what went out before tail_ptr was set
  std::unique_lock lock(mu);
  cv.wait(lock, [&] { return through >= last_seq; });
  double tail_s = us_since(t1) / 1e6;
  std::printf(
      "tail replay: %llu records (%zu frames of %zu KiB) in %.2f s = %.0f records/s; decoding "
      "the same records from memory in the same run: %.0f records/s (tail = %.2fx memory)\n",
      static_cast<unsigned long long>(replayed), bodies.size(), batch_bytes / 1024, tail_s,
      replayed / tail_s, decoded / memory_s, (replayed / tail_s) / (decoded / memory_s));
}

void takeover_case(nats_connection& c, int rounds) {
  stream_config config = config_for("takeover");
  shard_stream s(c, config);
  publisher_position start = take_over(s);
  uint64_t last = start.last_sequence;
  std::vector<double> takeover_us;
  for (int i = 0; i < rounds; ++i) {
    frame_writer w{static_cast<uint64_t>(i + 2), i % 2 ? "a" : "b"};
    auto t = clock_type::now();
    auto r = s.append(encode_frame(frame_kind::takeover, w, 0, "http://x"), last,
                      msg_id(config.cluster, 0, w, 1), nats_request_wait_ms);
    takeover_us.push_back(us_since(t));
    if (r.status != append_status::appended) std::abort();
    last = r.sequence;
  }
  auto sync = fdatasync_us(4096, rounds);
  std::printf(
      "takeover append (conditional, synchronous): p50 %.0f us p99 %.0f us over %d; 4 KiB "
      "fdatasync in the same run p50 %.0f us (takeover = %.2fx fdatasync)\n",
      percentile(takeover_us, 0.5), percentile(takeover_us, 0.99), rounds, percentile(sync, 0.5),
      percentile(takeover_us, 0.5) / percentile(sync, 0.5));
}

}  // namespace
}  // namespace stampede::repl

int main(int argc, char** argv) {
  using namespace stampede;
  double seconds = argc > 1 ? std::atof(argv[1]) : 5;
  uint64_t records = argc > 2 ? std::strtoull(argv[2], nullptr, 10) : 1'000'000;
  testing::nats_cluster cluster(3);
  if (!cluster.ready()) {
    std::fprintf(stderr, "nats-servers did not come up (%s)\n", cluster.dir().c_str());
    return 1;
  }
  auto conn = repl::nats_connection::connect({cluster.urls(), "stampede-bench"});
  if (!conn) {
    std::fprintf(stderr, "%s\n", conn.err().message.c_str());
    return 1;
  }
  std::printf("3 nats-servers 2.9.10 (R3, file storage) and this client on one machine, %u cores\n",
              std::thread::hardware_concurrency());
  for (size_t bytes : {1024, 4096})
    for (size_t in_flight : {4, 16}) {
      std::string name = "pub" + std::to_string(bytes) + "-" + std::to_string(in_flight);
      repl::publish_case(*conn.value(), name.c_str(), bytes, in_flight, seconds);
    }
  repl::takeover_case(*conn.value(), 200);
  repl::replay_case(*conn.value(), records);
  return 0;
}
