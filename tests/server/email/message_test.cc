#include "server/email/message.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "tests/server/email/mime_reader.h"

namespace stampede::email {
namespace {

TEST(EmailAddress, OrdinaryAddressesAreValid) {
  for (const char* a : {"alice@example.com", "a.b+tag@mail.example.co.uk", "x_y-z@localhost",
                        "o'brien@example.ie", "1@2.io"})
    EXPECT_TRUE(valid_address(a)) << a;
}

TEST(EmailAddress, AnythingThatCouldBreakAHeaderIsRefused) {
  for (const char* a :
       {"", "alice", "@example.com", "alice@", "alice@@example.com", "a@b@example.com",
        "alice@example.com\r\nBcc: evil@example.net", "alice@example.com\n", "al ice@example.com",
        "\"alice\"@example.com", "<alice@example.com>", "alice@[127.0.0.1]", ".alice@example.com",
        "alice.@example.com", "al..ice@example.com", "alice@-example.com", "alice@example-.com",
        "alice@example..com", "alice@exa_mple.com", "alice,bob@example.com", "alice@example.com,"})
    EXPECT_FALSE(valid_address(a)) << a;
  EXPECT_FALSE(valid_address(std::string(65, 'a') + "@example.com"));
  EXPECT_TRUE(valid_address(std::string(64, 'a') + "@example.com"));
  EXPECT_FALSE(valid_address("a@" + std::string(64, 'b') + ".com"));
  EXPECT_FALSE(valid_address("a@" + std::string(250, 'b')));
}

TEST(EmailAddress, MailboxesParseWithOrWithoutAName) {
  auto m = parse_mailbox("Shop <orders@example.com>");
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->display_name, "Shop");
  EXPECT_EQ(m->address, "orders@example.com");
  auto quoted = parse_mailbox(R"("The \"Best\" Shop" <orders@example.com>)");
  ASSERT_TRUE(quoted.ok());
  EXPECT_EQ(quoted->display_name, R"(The "Best" Shop)");
  auto bare = parse_mailbox("  orders@example.com ");
  ASSERT_TRUE(bare.ok());
  EXPECT_EQ(bare->display_name, "");
  EXPECT_EQ(bare->address, "orders@example.com");
  EXPECT_FALSE(parse_mailbox("Shop\r\nBcc: x@example.com <orders@example.com>").ok());
  EXPECT_FALSE(parse_mailbox("Shop <not an address>").ok());
  EXPECT_FALSE(parse_mailbox("").ok());
}

TEST(EmailHeaders, PlainAsciiIsKeptAndFoldedAtSpaces) {
  EXPECT_EQ(encode_header_text("Order ord_1 confirmed", 9), "Order ord_1 confirmed");
  std::string longer;
  for (int i = 0; i < 30; ++i) longer += "word" + std::to_string(i) + " ";
  std::string encoded = encode_header_text(longer, 9);
  EXPECT_NE(encoded.find("\r\n "), std::string::npos);
  for (const auto& line : header_lines("Subject: " + encoded)) EXPECT_LE(line.size(), 78u) << line;
  EXPECT_EQ(decode_header_value(encoded), longer.substr(0, longer.size() - 1));
}

TEST(EmailHeaders, CrLfCannotStartANewHeader) {
  std::string encoded = encode_header_text("Hello\r\nBcc: evil@example.net\r\n\r\nbody", 9);
  for (size_t at = encoded.find("\r\n"); at != std::string::npos; at = encoded.find("\r\n", at + 2))
    EXPECT_EQ(encoded[at + 2], ' ') << "a line break that is not a fold: " << encoded;
  EXPECT_EQ(decode_header_value(encoded), "Hello Bcc: evil@example.net body");
}

TEST(EmailHeaders, Utf8BecomesEncodedWordsThatSplitNoCharacter) {
  std::string subject = "Bestellung bestätigt — ✓ ünd ein sehr langer Betreff, der gefaltet werden muss";
  std::string encoded = encode_header_text(subject, 9);
  EXPECT_EQ(encoded.rfind("=?UTF-8?B?", 0), 0u);
  for (const auto& line : header_lines("Subject: " + encoded)) EXPECT_LE(line.size(), 76u) << line;
  for (const auto& word : encoded_word_payloads(encoded)) {
    std::string bytes;
    ASSERT_TRUE(absl::Base64Unescape(word, &bytes));
    EXPECT_TRUE(whole_utf8(bytes)) << "a word ends inside a character";
  }
  EXPECT_EQ(decode_header_value(encoded), subject);
}

TEST(EmailHeaders, TextThatLooksEncodedIsEncoded) {
  std::string tricky = "=?UTF-8?B?QmNjOiBldmls?=";
  std::string encoded = encode_header_text(tricky, 9);
  EXPECT_NE(encoded, tricky);
  EXPECT_EQ(decode_header_value(encoded), tricky);
}

TEST(EmailHeaders, MailboxNamesAreQuotedOrEncoded) {
  EXPECT_EQ(format_mailbox({"", "a@example.com"}), "a@example.com");
  EXPECT_EQ(format_mailbox({"Shop", "a@example.com"}), "\"Shop\" <a@example.com>");
  EXPECT_EQ(format_mailbox({R"(A "B" \C)", "a@example.com"}), R"("A \"B\" \\C" <a@example.com>)");
  std::string encoded = format_mailbox({"Café Zürich", "a@example.com"});
  EXPECT_EQ(encoded.rfind("=?UTF-8?B?", 0), 0u);
  EXPECT_EQ(decode_header_value(encoded.substr(0, encoded.find(" <"))), "Café Zürich");
}

TEST(QuotedPrintable, EncodesWhatIsNotPlainAndKeepsLinesShort) {
  EXPECT_EQ(quoted_printable("a=b"), "a=3Db\r\n");
  EXPECT_EQ(quoted_printable("caf\xc3\xa9"), "caf=C3=A9\r\n");
  EXPECT_EQ(quoted_printable("trailing \nnext"), "trailing=20\r\nnext\r\n");
  EXPECT_EQ(quoted_printable("one\r\ntwo\n"), "one\r\ntwo\r\n");
  std::string text = std::string(200, 'x') + "=";
  for (int i = 0; i < 50; ++i) text += "\xc3\xa9";
  std::string encoded = quoted_printable(text);
  for (const auto& line : header_lines(encoded)) EXPECT_LE(line.size(), 76u);
  EXPECT_EQ(decode_quoted_printable(encoded), text + "\r\n");
}

TEST(EmailDate, IsRfc5322InUtc) {
  EXPECT_EQ(format_date(1'795'341'600'000), "Sun, 22 Nov 2026 10:00:00 +0000");
  EXPECT_EQ(format_date(0), "Thu, 01 Jan 1970 00:00:00 +0000");
}

message_fields sample() {
  return {{"Shop", "orders@shop.example"},
          "alice@example.com",
          "Order ord_1 confirmed",
          "Thanks, Alice.\nTotal: USD 251.90\n",
          "<p>Thanks, Alice.</p>",
          "evt_a1",
          "ord_1",
          1'795'341'600'000};
}

TEST(EmailMessage, HasTheHeadersAndBothParts) {
  auto built = build_message(sample());
  ASSERT_TRUE(built.ok()) << built.err().message;
  parsed_message m = parse_message(built.value());
  EXPECT_EQ(m.header("From"), "\"Shop\" <orders@shop.example>");
  EXPECT_EQ(m.header("To"), "alice@example.com");
  EXPECT_EQ(m.header("Subject"), "Order ord_1 confirmed");
  EXPECT_EQ(m.header("Message-ID"), "<evt_a1@shop.example>");
  EXPECT_EQ(m.header("References"), "<ord_1@shop.example>");
  EXPECT_EQ(m.header("Date"), "Sun, 22 Nov 2026 10:00:00 +0000");
  EXPECT_EQ(m.header("MIME-Version"), "1.0");
  EXPECT_EQ(m.header("Bcc"), "");
  ASSERT_EQ(m.parts.size(), 2u);
  EXPECT_EQ(m.parts[0].type, "text/plain; charset=utf-8");
  EXPECT_EQ(m.parts[0].body, "Thanks, Alice.\r\nTotal: USD 251.90\r\n");
  EXPECT_EQ(m.parts[1].type, "text/html; charset=utf-8");
  EXPECT_EQ(m.parts[1].body, "<p>Thanks, Alice.</p>\r\n");
  EXPECT_TRUE(crlf_only(built.value()));
}

TEST(EmailMessage, ARetryIsTheSameMessageByteForByte) {
  auto first = build_message(sample());
  auto again = build_message(sample());
  ASSERT_TRUE(first.ok() && again.ok());
  EXPECT_EQ(first.value(), again.value());
  auto other = sample();
  other.event_id = "evt_a2";
  EXPECT_NE(parse_message(build_message(other).value()).header("Message-ID"), "<evt_a1@shop.example>");
}

TEST(EmailMessage, AnInjectedSubjectAddsNoHeader) {
  auto m = sample();
  m.subject = "Hi\r\nBcc: evil@example.net\r\nX-Evil: 1";
  auto built = build_message(m);
  ASSERT_TRUE(built.ok());
  parsed_message parsed = parse_message(built.value());
  EXPECT_EQ(parsed.header("Bcc"), "");
  EXPECT_EQ(parsed.header("X-Evil"), "");
  EXPECT_EQ(parsed.header("Subject"), "Hi Bcc: evil@example.net X-Evil: 1");
}

TEST(EmailMessage, BadAddressesAndIdsAreRefused) {
  auto m = sample();
  m.to = "alice@example.com\r\nBcc: evil@example.net";
  EXPECT_EQ(build_message(m).code(), error_code::invalid_request);
  m = sample();
  m.from.address = "orders";
  EXPECT_FALSE(build_message(m).ok());
  m = sample();
  m.event_id = "evt>\r\nBcc: x";
  EXPECT_FALSE(build_message(m).ok());
  m = sample();
  m.thread_id = "ord 1";
  EXPECT_FALSE(build_message(m).ok());
}

}  // namespace
}  // namespace stampede::email
