// The record format: every effect type round-trips, and every way a log can be damaged is
// either truncated as a torn write (at the end) or refused as corruption (in the middle).
#include "persistence/wal_format.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <future>

#include <gtest/gtest.h>

#include "persistence/files.h"
#include "persistence/wal_reader.h"
#include "persistence/wal_writer.h"

namespace stampede::wal {
namespace {
// Reads a whole log into a list, for tests.
struct read_all {
  read_result result;
  std::vector<effect> effects;
};
read_all read_effects(const std::string& path) {
  read_all r;
  r.result = read_log(path, [&](effect&& e) { r.effects.push_back(std::move(e)); });
  return r;
}
}  // namespace
}  // namespace stampede::wal

namespace stampede::wal {
namespace {

order sample_order() {
  order o;
  o.id = "ord_0000000100000000000a";
  o.user_id = "alice";
  o.status = order_status::shipped;
  o.items = {{"sku-1", "Sneaker \"limited\"", 12999, 2, 25998}, {"sku-2", "Cap", 1999, 1, 1999}};
  o.subtotal = 27997;
  o.shipping = 500;
  o.total = 28497;
  o.method = {"standard", "Standard", 500};
  o.shipping_address = {"adr_1", "Ada", "1 Way", "", "London", "", "N1", "GB", "+44"};
  o.billing_address = o.shipping_address;
  o.payments = {{"pay_1", payment_status::succeeded, "card", 28497, "", "visa", "4242", "", 17}};
  o.tracking_number = "1Z999";
  o.expires_at_ms = std::nullopt;
  o.history = {{order_status::pending, 1}, {order_status::paid, 2}, {order_status::shipped, 3}};
  o.created_at_ms = 1;
  o.updated_at_ms = 3;
  o.email = "ada@example.com";
  return o;
}

// A drop's notification: no order, a drop and a product named (drop_notice_added).
notification drop_note() {
  notification n;
  n.id = "ntf_2";
  n.event = "waitlist.offered";
  n.message = "Units are held in your cart.";
  n.created_at_ms = 43;
  n.drop_id = "drp_1";
  n.product_id = "sku-1";
  return n;
}

std::vector<effect> one_of_each() {
  product_create pc{"sku-1", "Sneaker", "désc ✓", 12999, {"a.jpg", "b.jpg"}, 300, 2, 100, std::nullopt};
  product_patch pp;
  pp.name = "New";
  pp.images = std::vector<std::string>{};
  pp.on_hand = 7;
  pp.sale_starts_at_ms = std::optional<int64_t>();  // set to null
  pp.sale_ends_at_ms = std::optional<int64_t>(99);
  pp.active = false;
  cart c;
  c.lines = {{"sku-1", "Sneaker", 12999, 2, true}, {"sku-2", "Cap", 1999, 1, false}};
  c.held_until_ms = 123456;
  notification n{"ntf_1", "order.shipped", "ord_1", order_status::shipped,
                 sample_order().items, 28497, "1Z", "Your order has shipped.", 42};
  cart_view cv{{{"sku-1", "Sneaker", 12999, 2, 25998, true, 5}, {"sku-2", "Cap", 1, 1, 1, false, std::nullopt}}, 25999, 3};
  payment_result pr{sample_order().payments[0], sample_order()};
  return {
      product_created{pc},
      product_patched{"sku-1", pp},
      on_hand_set{"sku-1", 42},
      product_deactivated{"sku-1"},
      shipping_methods_replaced{{{"standard", "Standard", 500}, {"pickup", "Pick up", 0}}},
      cart_replaced{"alice", c},
      address_added{"alice", {"adr_1", "Ada", "1 Way", "Flat 2", "London", "Greater London", "N1", "GB", ""}},
      address_deleted{"alice", "adr_1"},
      order_placed{sample_order()},
      order_updated{sample_order()},
      notification_added{"alice", n},
      idempotency_stored{"alice", "POST /v1/cart/items\nk1", 0xfeedULL, 77, cv},
      idempotency_stored{"alice", "POST /v1/orders\nk2", 1, 78, sample_order()},
      idempotency_stored{"alice", "POST /v1/orders/x/payments\nk3", 2, 79, pr},
      product_restored{pc, false, 17},
      webhooks_replaced{{webhook{"whk_1", "http://h:8080/x", "s3cret-123", {"order.*", "order.paid"}, 99}}},
      webhook_event_queued{outbox_entry{"evt_1", "whk_1", n, 1234}},
      webhook_event_done{1234, "evt_1", "whk_1"},
      idempotency_kept{"alice", "POST /v1/cart/items\nk4", 3, 80, answer_kind::cart_now, ""},
      idempotency_kept{"alice", "POST /v1/orders\nk5", 4, 81, answer_kind::order, "\x01\x02"},
      email_queued{email_entry{"evt_2", n, sample_order(), 1235}},
      email_done{1235, "evt_2"},
      drop_created{drop_definition{"drp_1", {"sku-1", "sku-2"}, drop_mode::draw, 1000, 5000, 50, 300, 200},
                   std::string("\x00\xff seed", 7), 900},
      drop_status_set{"drp_1", drop_status{true, true, false, true, false, 2, 10, 4, 3, 50}},
      drop_ticket_set{"drp_1", drop_ticket{"alice", ticket_state::admitted, 3, 100, 200, 300, true, false}},
      drop_ticket_removed{"drp_1", "bob"},
      drop_entry_set{"drp_1", drop_entry{"alice", entry_stage::won, 7, 150, 9000}},
      waitlist_entry_set{"sku-1", waitlist_entry{"alice", 2, 4, 160, true}},
      waitlist_entry_removed{"sku-1", "bob"},
      product_limits_set{"sku-1", 1, 2},
      card_fingerprint_set{"alice", "ord_1", "pay_1", "0123abcd"},
      drop_notice_added{"alice", drop_note()},
  };
}

// Equal encodings mean equal effects (and a changed field list shows here too).
std::string encoded(const effect& e) {
  std::string s;
  EXPECT_TRUE(append_record(s, 1, e));
  return s;
}

// A file name under the test's temporary directory, removed when the program exits.
std::string temp_path(const char* name) {
  struct cleanup {
    std::vector<std::string> paths;
    ~cleanup() {
      for (const auto& p : paths) std::remove(p.c_str());
    }
  };
  static cleanup made;
  made.paths.push_back(std::string(::testing::TempDir()) + "/" + name + "-" +
                       std::to_string(::getpid()) + ".log");
  return made.paths.back();
}

std::string write_log(const char* name, const std::vector<effect>& effects) {
  std::string data;
  uint64_t seq = 0;
  for (const auto& e : effects) EXPECT_TRUE(append_record(data, ++seq, e));
  std::string path = temp_path(name);
  std::ofstream(path, std::ios::binary).write(data.data(), static_cast<std::streamsize>(data.size()));
  return path;
}

void overwrite(const std::string& path, const std::string& data) {
  std::ofstream(path, std::ios::binary | std::ios::trunc).write(data.data(), static_cast<std::streamsize>(data.size()));
}

std::string slurp(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(f), {});
}

TEST(WalFormat, TheHeaderIsEighteenBytesAndTheCrcIsCrc32c) {
  EXPECT_EQ(header_size, 18u);
  EXPECT_EQ(crc32c("123456789"), 0xe3069283u);  // the standard CRC-32C check value
}

TEST(WalFormat, TheFastCrcAgreesWithTheReferenceAtEveryLengthAndAlignment) {
  std::string data;
  for (int i = 0; i < 300; ++i) data.push_back(static_cast<char>(i * 131 + 7));
  for (size_t start = 0; start < 9; ++start)
    for (size_t len = 0; start + len <= data.size(); len += 7)
      ASSERT_EQ(crc32c(std::string_view(data).substr(start, len)),
                crc32c_reference(std::string_view(data).substr(start, len)))
          << start << "+" << len;
}

TEST(WalFormat, EveryEffectTypeRoundTrips) {
  auto effects = one_of_each();
  std::vector<bool> seen(effect_type_max + 1);
  std::vector<bool> seen_alternative(std::variant_size_v<effect>);
  for (const auto& e : effects) {
    std::string rec = encoded(e);
    uint32_t length = load_u32(rec.data());
    uint16_t type = static_cast<uint16_t>(static_cast<unsigned char>(rec[8]) | static_cast<unsigned char>(rec[9]) << 8);
    ASSERT_EQ(rec.size(), header_size + length);
    auto back = decode_effect(type, std::string_view(rec).substr(header_size));
    ASSERT_TRUE(back) << "type " << type;
    EXPECT_EQ(back->index(), e.index());
    EXPECT_EQ(encoded(*back), rec) << "type " << type;
    seen[type] = true;
    seen_alternative[e.index()] = true;
  }
  // Every effect is tested, under the number it is written with (numbers leave gaps: each
  // owner has a range).
  for (size_t i = 0; i < seen_alternative.size(); ++i)
    EXPECT_TRUE(seen_alternative[i]) << "alternative " << i << " untested";
  EXPECT_TRUE(seen[effect_type_max]) << "the largest type number is no effect's";
}

TEST(WalFormat, EveryEffectKeepsTheTypeNumberItWasFirstWrittenWith) {
  // Records on disk name their effect by these numbers: changing one re-labels them.
  const std::vector<std::pair<effect, int>> pinned{
      {product_created{}, 1}, {product_patched{}, 2}, {on_hand_set{}, 3},
      {product_deactivated{}, 4}, {shipping_methods_replaced{}, 5}, {cart_replaced{}, 6},
      {address_added{}, 7}, {address_deleted{}, 8}, {order_placed{}, 9}, {order_updated{}, 10},
      {notification_added{}, 11}, {idempotency_stored{}, 12}, {product_restored{}, 13},
      {webhooks_replaced{}, 14}, {webhook_event_queued{}, 15}, {webhook_event_done{}, 16},
      {idempotency_kept{}, 17}, {email_queued{}, 48}, {email_done{}, 49},
      {drop_created{}, 32}, {drop_status_set{}, 33}, {drop_ticket_set{}, 34},
      {drop_ticket_removed{}, 35}, {drop_entry_set{}, 36}, {waitlist_entry_set{}, 37},
      {waitlist_entry_removed{}, 38}, {product_limits_set{}, 39}, {card_fingerprint_set{}, 40},
      {drop_notice_added{}, 41}};
  ASSERT_EQ(pinned.size(), std::variant_size_v<effect>);
  for (const auto& [e, number] : pinned) {
    EXPECT_EQ(static_cast<int>(type_of(e)), number) << "alternative " << e.index();
    std::string rec = encoded(e);
    EXPECT_EQ(static_cast<unsigned char>(rec[8]) | static_cast<unsigned char>(rec[9]) << 8, number);
  }
}

TEST(WalFormat, ARecordOverThePayloadLimitIsRefusedAndLeavesTheBufferAsItWas) {
  // A payload of exactly record_payload_max is written; one byte more is refused.
  product_created p{product_create{"sku-1", "Big", "", 1, {}, 0, 0, {}, {}}};
  std::string small;
  ASSERT_TRUE(append_record(small, 1, p));
  p.fields.description.assign(record_payload_max - (small.size() - header_size), 'x');
  std::string buffer = "earlier records";
  ASSERT_TRUE(append_record(buffer, 2, p));
  EXPECT_EQ(buffer.size(), 15 + header_size + record_payload_max);
  EXPECT_TRUE(record_at(buffer, 15).has_value());  // and the reader takes it
  p.fields.description.push_back('x');
  std::string before = buffer;
  EXPECT_FALSE(append_record(buffer, 3, p));
  EXPECT_TRUE(buffer == before);
}

TEST(WalFormat, APayloadThatIsShortOrLongDoesNotDecode) {
  std::string rec = encoded(order_placed{sample_order()});
  std::string_view payload = std::string_view(rec).substr(header_size);
  uint16_t type = static_cast<uint16_t>(effect_type::order_placed);
  EXPECT_FALSE(decode_effect(type, payload.substr(0, payload.size() - 1)));
  EXPECT_FALSE(decode_effect(type, std::string(payload) + "x"));
  EXPECT_FALSE(decode_effect(0, payload));
  EXPECT_FALSE(decode_effect(effect_type_max + 1, payload));
}

// A device that keeps what it is given.
class memory_device final : public log_device {
 public:
  explicit memory_device(std::string& bytes) : bytes_(bytes) {}
  bool append(std::string_view b) override {
    bytes_.append(b);
    return true;
  }
  bool sync() override { return true; }

 private:
  std::string& bytes_;
};

TEST(WalWriter, AnEffectTooLargeForARecordIsRefusedAndNothingIsLogged) {
  std::string disk;
  std::promise<void> both;
  wal_writer log(
      std::make_unique<memory_device>(disk), 0,
      [&both](uint64_t lsn) {
        if (lsn == 2) both.set_value();
      },
      [](const char* what) { ADD_FAILURE() << what; });
  EXPECT_EQ(log.append(on_hand_set{"a", 1}), 1u);
  product_created big{product_create{"sku-1", "Big", "", 1, {}, 0, 0, {}, {}}};
  big.fields.description.assign(record_payload_max + 1, 'x');
  EXPECT_EQ(log.append(big), 0u);  // refused: the shard applies nothing, answers an error
  EXPECT_EQ(log.append(on_hand_set{"a", 2}), 2u);  // and the sequence has no gap
  log.flush();
  both.get_future().wait();
  size_t at = 0;
  std::vector<uint64_t> sequences;
  while (auto h = record_at(disk, at)) {
    sequences.push_back(h->sequence);
    at += header_size + h->length;
  }
  EXPECT_EQ(sequences, (std::vector<uint64_t>{1, 2}));
  EXPECT_EQ(at, disk.size());
}

TEST(WalReader, AWholeLogReadsBackInOrder) {
  auto path = write_log("whole", one_of_each());
  auto all = read_effects(path);
  auto& r = all.result;
  EXPECT_FALSE(r.corruption);
  EXPECT_FALSE(r.torn_tail);
  EXPECT_EQ(all.effects.size(), one_of_each().size());
  EXPECT_EQ(r.last_sequence, one_of_each().size());
  EXPECT_EQ(r.valid_bytes, slurp(path).size());
}

TEST(WalReader, AMissingFileIsAnEmptyLog) {
  auto all = read_effects(temp_path("missing-never-written"));
  auto& r = all.result;
  EXPECT_TRUE(all.effects.empty());
  EXPECT_FALSE(r.corruption);
}

TEST(WalReader, ALogCutAtEveryByteOfItsLastTwoRecordsKeepsTheWholeRecordsBeforeTheCut) {
  auto effects = one_of_each();
  auto path = write_log("cut", effects);
  std::string full = slurp(path);
  size_t last_two = encoded(effects[effects.size() - 2]).size() + encoded(effects.back()).size();
  std::vector<size_t> ends;  // byte offsets where each record ends
  size_t at = 0;
  for (const auto& e : effects) ends.push_back(at += encoded(e).size());
  for (size_t cut = full.size() - last_two; cut < full.size(); ++cut) {
    overwrite(path, full.substr(0, cut));
    auto all = read_effects(path);
    auto& r = all.result;
    ASSERT_FALSE(r.corruption) << "cut at " << cut << ": " << *r.corruption;
    size_t whole = 0;
    while (whole < ends.size() && ends[whole] <= cut) ++whole;
    EXPECT_EQ(all.effects.size(), whole) << "cut at " << cut;
    EXPECT_EQ(r.valid_bytes, whole ? ends[whole - 1] : 0) << "cut at " << cut;
    EXPECT_EQ(r.torn_tail, cut != (whole ? ends[whole - 1] : 0)) << "cut at " << cut;
  }
}

// `full` with one byte's bits flipped by `mask`, written to `path` and read back.
read_all flipped(const std::string& path, const std::string& full, size_t byte, char mask) {
  std::string bad = full;
  bad[byte] = static_cast<char>(bad[byte] ^ mask);
  overwrite(path, bad);
  return read_effects(path);
}

TEST(WalReader, AFlippedBitInTheLastRecordIsATornTail) {
  auto effects = one_of_each();
  auto path = write_log("flip-last", effects);
  std::string full = slurp(path);
  size_t last = full.size() - encoded(effects.back()).size();
  for (size_t byte : {last + 0, last + 5, last + 9, last + 12, last + 20, full.size() - 1}) {
    auto all = flipped(path, full, byte, 0x10);
    auto& r = all.result;
    EXPECT_FALSE(r.corruption) << "byte " << byte;
    EXPECT_TRUE(r.torn_tail) << "byte " << byte;
    EXPECT_EQ(all.effects.size(), effects.size() - 1) << "byte " << byte;
    EXPECT_EQ(r.valid_bytes, last) << "byte " << byte;
  }
}

TEST(WalReader, ZerosAfterTheLastRecordAreTheEndOfTheRecordsNotATornWrite) {
  auto effects = one_of_each();
  auto path = write_log("zeros", effects);
  std::string records = slurp(path);
  overwrite(path, records + std::string(log_zero_chunk, '\0'));
  auto all = read_effects(path);
  auto& r = all.result;
  EXPECT_FALSE(r.corruption);
  EXPECT_FALSE(r.torn_tail);
  EXPECT_EQ(all.effects.size(), effects.size());
  EXPECT_EQ(r.valid_bytes, records.size());
}

TEST(WalReader, ATornLastRecordBeforeTheZerosIsATornTail) {
  auto effects = one_of_each();
  auto path = write_log("torn-zeros", effects);
  std::string full = slurp(path);
  size_t last = full.size() - encoded(effects.back()).size();
  for (size_t cut : {last + 3, last + 12, full.size() - 1}) {
    overwrite(path, full.substr(0, cut) + std::string(4096, '\0'));
    auto all = read_effects(path);
    auto& r = all.result;
    EXPECT_FALSE(r.corruption) << "cut at " << cut;
    EXPECT_TRUE(r.torn_tail) << "cut at " << cut;
    EXPECT_EQ(all.effects.size(), effects.size() - 1) << "cut at " << cut;
    EXPECT_EQ(r.valid_bytes, last) << "cut at " << cut;
  }
}

TEST(WalReader, ACorruptRecordFollowedByValidOnesIsRefusedWhenZerosFollowThem) {
  auto effects = one_of_each();
  auto path = write_log("middle-zeros", effects);
  std::string full = slurp(path) + std::string(4096, '\0');
  size_t third = encoded(effects[0]).size() + encoded(effects[1]).size();
  auto all = flipped(path, full, third + 6, 0x01);
  ASSERT_TRUE(all.result.corruption);
  EXPECT_NE(all.result.corruption->find("offset " + std::to_string(third)), std::string::npos)
      << *all.result.corruption;
}

// A log of n small records, and the offset where each one starts.
std::pair<std::string, std::vector<size_t>> small_records(int n) {
  std::string data;
  std::vector<size_t> starts;
  for (int i = 1; i <= n; ++i) {
    starts.push_back(data.size());
    EXPECT_TRUE(append_record(data, static_cast<uint64_t>(i), on_hand_set{"sku-1", i}));
  }
  return {data, starts};
}

// How many of `starts` begin a record wholly before `offset`.
size_t records_before(const std::vector<size_t>& starts, const std::string& data, size_t offset) {
  size_t n = 0;
  for (size_t k = 0; k < starts.size(); ++k) {
    size_t end = k + 1 < starts.size() ? starts[k + 1] : data.size();
    if (end <= offset) ++n;
  }
  return n;
}

TEST(WalReader, ABlockTheLastWriteNeverGotToIsATornTailThoughLaterOnesArrived) {
  auto [data, starts] = small_records(400);
  ASSERT_GT(data.size(), 3u * 4096);
  auto path = temp_path("hole");
  // A whole 4 KiB block in the middle reads as zeros; the blocks after it hold records.
  std::string holed = data;
  std::fill(holed.begin() + 4096, holed.begin() + 8192, '\0');
  overwrite(path, holed);
  auto all = read_effects(path);
  ASSERT_FALSE(all.result.corruption) << *all.result.corruption;
  EXPECT_TRUE(all.result.torn_tail);
  EXPECT_EQ(all.effects.size(), records_before(starts, data, 4096));
  // The same from a record's start to the block's end: the block held the end of the last
  // synced record and zeros after it, and the write that followed never reached it.
  size_t k = records_before(starts, data, 4096) - 3;
  holed = data;
  std::fill(holed.begin() + static_cast<long>(starts[k]), holed.begin() + 4096, '\0');
  overwrite(path, holed);
  all = read_effects(path);
  ASSERT_FALSE(all.result.corruption) << *all.result.corruption;
  EXPECT_TRUE(all.result.torn_tail);
  EXPECT_EQ(all.effects.size(), k);
  EXPECT_EQ(all.result.valid_bytes, starts[k]);
}

TEST(WalReader, ZerosThatDoNotReachASectorsEndBeforeValidRecordsAreCorruption) {
  auto [data, starts] = small_records(400);
  auto path = temp_path("zeroed-bytes");
  // A record's first 8 bytes zeroed, in the middle of a sector: not a block never written.
  size_t k = 100;
  while (starts[k] % 512 > 400) ++k;
  std::string bad = data;
  auto first = bad.begin() + static_cast<long>(starts[k]);
  std::fill(first, first + 8, '\0');
  overwrite(path, bad);
  auto all = read_effects(path);
  ASSERT_TRUE(all.result.corruption);
  EXPECT_NE(all.result.corruption->find("offset " + std::to_string(starts[k])), std::string::npos)
      << *all.result.corruption;
}

// A segment written through wal_writer::open, for the tests of the file itself.
struct segment_file {
  std::string dir = ::testing::TempDir() + "/wal-seg-" + std::to_string(::getpid());
  std::string path = segment_path(dir, 0, 1);
  segment_file() {
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
  }
  ~segment_file() { std::filesystem::remove_all(dir); }
  // Appends on_hand_set records last+1..last+n after the first valid_bytes, and waits until
  // they are durable.
  void write(uint64_t valid_bytes, uint64_t last, uint64_t n, uint64_t segment_bytes) {
    std::promise<void> done;
    std::unique_ptr<wal_writer> log;
    ASSERT_EQ(wal_writer::open(dir, 0, path, valid_bytes, last, segment_bytes,
                               [&](uint64_t lsn) {
                                 if (lsn == last + n) done.set_value();
                               },
                               log),
              "");
    for (uint64_t i = 1; i <= n; ++i)
      ASSERT_EQ(log->append(on_hand_set{"sku-1", static_cast<int64_t>(last + i)}), last + i);
    log->flush();
    done.get_future().wait();
  }
};

TEST(WalWriter, ASegmentIsZeroedAheadOfItsRecordsAndARestartAppendsAfterTheRecords) {
  segment_file f;
  f.write(0, 0, 100, 64 << 20);
  uint64_t size = std::filesystem::file_size(f.path);
  auto first = read_effects(f.path);
  ASSERT_FALSE(first.result.corruption);
  EXPECT_FALSE(first.result.torn_tail);
  ASSERT_EQ(first.effects.size(), 100u);
  // The file runs on past the records, in zeros, to the next chunk's end.
  EXPECT_EQ(size, log_zero_chunk);
  EXPECT_LT(first.result.valid_bytes, size);
  EXPECT_EQ(slurp(f.path).find_first_not_of('\0', first.result.valid_bytes), std::string::npos);
  // A restart opens the segment after its records: the next ones follow them, not the zeros.
  f.write(first.result.valid_bytes, 100, 50, 64 << 20);
  auto again = read_effects(f.path);
  ASSERT_FALSE(again.result.corruption) << *again.result.corruption;
  EXPECT_FALSE(again.result.torn_tail);
  ASSERT_EQ(again.effects.size(), 150u);
  for (uint64_t i = 0; i < 150; ++i)
    EXPECT_EQ(std::get<on_hand_set>(again.effects[i]).on_hand, static_cast<int64_t>(i + 1));
}

TEST(WalWriter, ZerosAheadStopAtTheSegmentsSize) {
  segment_file f;
  f.write(0, 0, 10, 4096);
  EXPECT_EQ(std::filesystem::file_size(f.path), 4096u);
  auto all = read_effects(f.path);
  EXPECT_EQ(all.effects.size(), 10u);
  EXPECT_FALSE(all.result.torn_tail);
}

TEST(WalReader, ACorruptRecordFollowedByValidOnesIsRefusedWithItsOffset) {
  auto effects = one_of_each();
  auto path = write_log("middle", effects);
  std::string full = slurp(path);
  size_t third = encoded(effects[0]).size() + encoded(effects[1]).size();
  for (size_t byte : {third + 2, third + 6, third + 25}) {
    auto all = flipped(path, full, byte, 0x01);
    auto& r = all.result;
    ASSERT_TRUE(r.corruption) << "byte " << byte;
    EXPECT_NE(r.corruption->find("offset " + std::to_string(third)), std::string::npos) << *r.corruption;
    EXPECT_NE(r.corruption->find(".log"), std::string::npos) << *r.corruption;
  }
}

TEST(WalReader, ASequenceGapIsCorruption) {
  std::string data;
  ASSERT_TRUE(append_record(data, 1, on_hand_set{"a", 1}));
  ASSERT_TRUE(append_record(data, 3, on_hand_set{"a", 2}));
  auto path = temp_path("gap");
  overwrite(path, data);
  auto all = read_effects(path);
    auto& r = all.result;
  ASSERT_TRUE(r.corruption);
  EXPECT_NE(r.corruption->find("expected 2"), std::string::npos) << *r.corruption;
}

}  // namespace
}  // namespace stampede::wal
