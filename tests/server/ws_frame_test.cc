// server/ws_frame: the frames the server writes and the reader of what clients send
// (RFC 6455 5.2-5.5, 7.4), byte by byte, including malformed and fragmented input.
#include "server/ws_frame.h"

#include <gtest/gtest.h>

#include <limits>
#include <string>
#include <vector>

namespace stampede::http::ws {
namespace {

constexpr size_t limit_bytes = 4096;
constexpr char mask_key[4] = {0x37, static_cast<char>(0xfa), 0x21, 0x3d};

// A frame as a client writes it: masked unless told otherwise, the length in its shortest
// form unless `length_form` forces 126 or 127.
std::string client_frame(uint8_t op, std::string_view payload, bool fin = true, bool masked = true,
                         uint8_t extra_bits = 0, int length_form = 0) {
  std::string f;
  f.push_back(static_cast<char>((fin ? 0x80 : 0) | extra_bits | op));
  const uint8_t m = masked ? 0x80 : 0;
  const size_t n = payload.size();
  int form = length_form ? length_form : n < 126 ? 0 : n < 65536 ? 126 : 127;
  if (form == 0) {
    f.push_back(static_cast<char>(m | n));
  } else if (form == 126) {
    f.push_back(static_cast<char>(m | 126));
    f.push_back(static_cast<char>(n >> 8));
    f.push_back(static_cast<char>(n & 0xff));
  } else {
    f.push_back(static_cast<char>(m | 127));
    for (int shift = 56; shift >= 0; shift -= 8) f.push_back(static_cast<char>((uint64_t{n} >> shift) & 0xff));
  }
  if (!masked) return f + std::string(payload);
  f.append(mask_key, 4);
  for (size_t i = 0; i < n; ++i) f.push_back(static_cast<char>(payload[i] ^ mask_key[i % 4]));
  return f;
}

std::string text(std::string_view payload, bool fin = true) { return client_frame(0x1, payload, fin); }

// Reads every event from `bytes` fed whole.
std::vector<event> read_all(frame_reader& r, std::string_view bytes, std::vector<std::string>* payloads = nullptr) {
  std::vector<event> out;
  for (;;) {
    event e = r.next(bytes);
    if (e.what == event::kind::need_more) break;
    out.push_back(e);
    if (payloads) payloads->emplace_back(e.payload);
    if (e.what == event::kind::fail) break;
  }
  return out;
}

uint16_t code_of(close_code c) { return static_cast<uint16_t>(c); }

// ---- encoding ----

TEST(WsFrameEncode, ShortPayloadHasATwoByteHeaderWithFinAndNoMask) {
  std::string f = encode(opcode::text, "hi");
  ASSERT_EQ(f.size(), 4u);
  EXPECT_EQ(static_cast<uint8_t>(f[0]), 0x81);
  EXPECT_EQ(static_cast<uint8_t>(f[1]), 2);
  EXPECT_EQ(f.substr(2), "hi");
}

TEST(WsFrameEncode, LengthsPick7Then16Then64BitForms) {
  EXPECT_EQ(encode(opcode::text, std::string(125, 'a')).size(), 2u + 125);
  std::string f126 = encode(opcode::text, std::string(126, 'a'));
  ASSERT_EQ(f126.size(), 4u + 126);
  EXPECT_EQ(static_cast<uint8_t>(f126[1]), 126);
  EXPECT_EQ(static_cast<uint8_t>(f126[2]), 0);
  EXPECT_EQ(static_cast<uint8_t>(f126[3]), 126);
  std::string f65535 = encode(opcode::binary, std::string(65535, 'a'));
  EXPECT_EQ(f65535.size(), 4u + 65535);
  std::string f65536 = encode(opcode::binary, std::string(65536, 'a'));
  ASSERT_EQ(f65536.size(), 10u + 65536);
  EXPECT_EQ(static_cast<uint8_t>(f65536[1]), 127);
  EXPECT_EQ(f65536.substr(2, 8), std::string("\0\0\0\0\0\1\0\0", 8));
}

TEST(WsFrameEncode, ControlFramesAndCloseCodes) {
  std::string close = encode(opcode::close, close_payload(close_code::going_away, "bye"));
  EXPECT_EQ(close, std::string("\x88\x05\x03\xe9" "bye", 7));
  frame f{encode(opcode::ping, ""), ""};
  EXPECT_TRUE(f.is_control());
  EXPECT_TRUE(f.is(opcode::ping));
  EXPECT_FALSE((frame{encode(opcode::text, "x"), ""}.is_control()));
}

// ---- reading whole messages ----

TEST(WsFrameReader, ReadsAMaskedTextMessage) {
  frame_reader r(limit_bytes);
  std::string bytes = text(R"({"op":"ping"})");
  std::string_view in = bytes;
  event e = r.next(in);
  ASSERT_EQ(e.what, event::kind::message);
  EXPECT_TRUE(e.text);
  EXPECT_EQ(e.payload, R"({"op":"ping"})");
  EXPECT_TRUE(in.empty());
}

TEST(WsFrameReader, ReadsSeveralFramesFromOneBufferOneEventAtATime) {
  frame_reader r(limit_bytes);
  std::vector<std::string> payloads;
  auto events = read_all(r, text("one") + client_frame(0x2, "two") + client_frame(0x9, "p") + text("three"),
                         &payloads);
  ASSERT_EQ(events.size(), 4u);
  EXPECT_EQ(payloads, (std::vector<std::string>{"one", "two", "p", "three"}));
  EXPECT_FALSE(events[1].text);  // binary
  EXPECT_EQ(events[2].what, event::kind::ping);
}

TEST(WsFrameReader, AFrameSplitAtEveryByteNeedsMoreThenReadsTheSame) {
  const std::string payload(300, 'x');  // a 16-bit length
  const std::string bytes = text(payload);
  for (size_t cut = 0; cut < bytes.size(); ++cut) {
    frame_reader r(limit_bytes);
    std::string_view first(bytes.data(), cut);
    ASSERT_EQ(r.next(first).what, event::kind::need_more) << cut;
    ASSERT_EQ(first.size(), cut) << "an unfinished frame is left for the caller";
    std::string_view all = bytes;
    event e = r.next(all);
    ASSERT_EQ(e.what, event::kind::message) << cut;
    EXPECT_EQ(e.payload, payload);
  }
}

TEST(WsFrameReader, ReassemblesAFragmentedMessageAroundAPing) {
  frame_reader r(limit_bytes);
  std::vector<std::string> payloads;
  auto events = read_all(r,
                         text(R"({"op":)", false) + client_frame(0x9, "are you there") +
                             client_frame(0x0, R"( "ping")", false) + client_frame(0x0, "}"),
                         &payloads);
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].what, event::kind::ping);
  EXPECT_EQ(payloads[0], "are you there");
  EXPECT_EQ(events[1].what, event::kind::message);
  EXPECT_TRUE(events[1].text);
  EXPECT_EQ(payloads[1], R"({"op": "ping"})");
}

TEST(WsFrameReader, HoldsFragmentsUntilTheLastThenLetsThemGo) {
  frame_reader r(limit_bytes);
  std::string bytes = text("abc", false);
  std::string_view in = bytes;
  EXPECT_EQ(r.next(in).what, event::kind::need_more);
  EXPECT_EQ(r.held_bytes(), 3u);
  bytes = client_frame(0x0, "def");
  in = bytes;
  EXPECT_EQ(r.next(in).payload, "abcdef");
  bytes = text("g");
  in = bytes;
  EXPECT_EQ(r.next(in).payload, "g");
  EXPECT_EQ(r.held_bytes(), 1u);
}

TEST(WsFrameReader, AMessageOfExactlyTheLimitIsRead) {
  frame_reader r(limit_bytes);
  std::string bytes = text(std::string(limit_bytes, 'a'));
  std::string_view in = bytes;
  EXPECT_EQ(r.next(in).what, event::kind::message);
}

TEST(WsFrameReader, MultibyteUtf8SplitAcrossFragmentsIsValid) {
  frame_reader r(limit_bytes);
  const std::string e_acute = "\xc3\xa9";
  auto events = read_all(r, text("caf" + e_acute.substr(0, 1), false) + client_frame(0x0, e_acute.substr(1)));
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].what, event::kind::message);
}

// ---- control frames ----

TEST(WsFrameReader, CloseWithoutPayloadHasNoCode) {
  frame_reader r(limit_bytes);
  auto events = read_all(r, client_frame(0x8, ""));
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].what, event::kind::close);
  EXPECT_EQ(events[0].code, 0);
}

TEST(WsFrameReader, CloseCarriesItsCodeAndReason) {
  frame_reader r(limit_bytes);
  std::vector<std::string> payloads;
  auto events = read_all(r, client_frame(0x8, close_payload(close_code::normal, "done")), &payloads);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].code, 1000);
  EXPECT_EQ(payloads[0], "done");
  frame_reader app(limit_bytes);
  EXPECT_EQ(read_all(app, client_frame(0x8, std::string("\x0b\xb8", 2)))[0].code, 3000);  // an application's
}

TEST(WsFrameReader, BadCloseFramesFail) {
  const std::vector<std::pair<std::string, uint16_t>> cases = {
      {std::string("\x03", 1), code_of(close_code::protocol_error)},          // a 1-byte code
      {std::string("\x03\xed", 2), code_of(close_code::protocol_error)},      // 1005: never sent
      {std::string("\x03\xe7", 2), code_of(close_code::protocol_error)},      // 999
      {std::string("\x07\xd0", 2), code_of(close_code::protocol_error)},      // 2000: reserved
      {std::string("\x03\xe8\xff", 3), code_of(close_code::bad_payload)},     // a reason not UTF-8
  };
  for (const auto& [payload, code] : cases) {
    frame_reader r(limit_bytes);
    auto events = read_all(r, client_frame(0x8, payload));
    ASSERT_EQ(events.size(), 1u);
    EXPECT_EQ(events[0].what, event::kind::fail);
    EXPECT_EQ(events[0].code, code);
  }
}

TEST(WsFrameReader, PongIsAnEvent) {
  frame_reader r(limit_bytes);
  auto events = read_all(r, client_frame(0xA, "x"));
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].what, event::kind::pong);
}

// ---- malformed frames: each fails with its close code, and the reader stays failed ----

struct malformed {
  const char* what;
  std::string bytes;
  close_code code;
};

TEST(WsFrameReader, MalformedFramesFailWithTheirCloseCode) {
  const std::vector<malformed> cases = {
      {"unmasked", client_frame(0x1, "x", true, false), close_code::protocol_error},
      {"RSV1 set", client_frame(0x1, "x", true, true, 0x40), close_code::protocol_error},
      {"RSV3 set", client_frame(0x1, "x", true, true, 0x10), close_code::protocol_error},
      {"opcode 3", client_frame(0x3, "x"), close_code::protocol_error},
      {"opcode 0xB", client_frame(0xB, "x"), close_code::protocol_error},
      {"fragmented ping", client_frame(0x9, "x", false), close_code::protocol_error},
      {"126-byte ping", client_frame(0x9, std::string(126, 'x')), close_code::protocol_error},
      {"continuation first", client_frame(0x0, "x"), close_code::protocol_error},
      {"text inside a fragmented message", text("a", false) + text("b"), close_code::protocol_error},
      {"16-bit length under 126", client_frame(0x1, "short", true, true, 0, 126), close_code::protocol_error},
      {"64-bit length under 65536", client_frame(0x1, "short", true, true, 0, 127), close_code::protocol_error},
      {"text not UTF-8", text("\xc0\x80"), close_code::bad_payload},
      {"over the limit", text(std::string(limit_bytes + 1, 'a')), close_code::too_big},
      {"fragments past the limit", text(std::string(limit_bytes, 'a'), false) + client_frame(0x0, "b"),
       close_code::too_big},
  };
  for (const auto& c : cases) {
    frame_reader r(limit_bytes);
    auto events = read_all(r, c.bytes);
    ASSERT_FALSE(events.empty()) << c.what;
    EXPECT_EQ(events.back().what, event::kind::fail) << c.what;
    EXPECT_EQ(events.back().code, code_of(c.code)) << c.what;
    EXPECT_FALSE(events.back().payload.empty()) << c.what << ": a reason";
    std::string_view good = "\x81\x80\0\0\0\0";
    EXPECT_EQ(r.next(good).what, event::kind::fail) << c.what << ": still failed";
  }
}

TEST(WsFrameReader, AnOversizedFrameFailsFromItsHeaderAloneBeforeThePayloadArrives) {
  frame_reader r(limit_bytes);
  std::string header = client_frame(0x1, std::string(1 << 20, 'a')).substr(0, 14);  // 64-bit length + mask
  std::string_view in = header;
  event e = r.next(in);
  EXPECT_EQ(e.what, event::kind::fail);
  EXPECT_EQ(e.code, code_of(close_code::too_big));
}

TEST(WsFrameReader, ALengthWithItsTopBitSetFails) {
  frame_reader r(std::numeric_limits<size_t>::max());
  std::string bytes = "\x81\xff\x80";
  bytes += std::string(7, '\0') + std::string(4, 'm');
  std::string_view in = bytes;
  EXPECT_EQ(r.next(in).what, event::kind::fail);
}

TEST(WsFrameReader, AnUnmaskedFrameFailsOnItsSecondByte) {
  frame_reader r(limit_bytes);
  std::string_view in("\x81\x05", 2);  // the rest not yet arrived
  EXPECT_EQ(r.next(in).what, event::kind::fail);
}

// ---- UTF-8 ----

TEST(WsFrameUtf8, AcceptsWellFormedText) {
  EXPECT_TRUE(valid_utf8(""));
  EXPECT_TRUE(valid_utf8("plain ascii"));
  EXPECT_TRUE(valid_utf8("\xc3\xa9"));          // é
  EXPECT_TRUE(valid_utf8("\xe2\x82\xac"));      // €
  EXPECT_TRUE(valid_utf8("\xf0\x9f\x98\x80"));  // U+1F600
  EXPECT_TRUE(valid_utf8("\xf4\x8f\xbf\xbf"));  // U+10FFFF
}

TEST(WsFrameUtf8, RefusesMalformedText) {
  EXPECT_FALSE(valid_utf8("\x80"));              // a continuation byte first
  EXPECT_FALSE(valid_utf8("\xc0\xaf"));          // overlong '/'
  EXPECT_FALSE(valid_utf8("\xe0\x80\xaf"));      // overlong, 3 bytes
  EXPECT_FALSE(valid_utf8("\xed\xa0\x80"));      // a surrogate
  EXPECT_FALSE(valid_utf8("\xf4\x90\x80\x80"));  // past U+10FFFF
  EXPECT_FALSE(valid_utf8("\xf8\x88\x80\x80\x80"));
  EXPECT_FALSE(valid_utf8("\xe2\x82"));          // cut short
  EXPECT_FALSE(valid_utf8("\xc3\x28"));          // a bad continuation
}

}  // namespace
}  // namespace stampede::http::ws
