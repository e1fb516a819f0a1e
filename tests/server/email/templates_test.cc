#include "server/email/templates.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "core/order.h"

namespace stampede::email {
namespace {

order sample_order() {
  order o;
  o.id = "ord_7k2";
  o.user_id = "alice";
  o.status = order_status::paid;
  o.items = {{"sku-1", "Limited sneaker", 12999, 1, 12999}, {"cap", "Logo cap", 5996, 2, 11992}};
  o.subtotal = 24991;
  o.shipping = 199;
  o.total = 25190;
  o.method = {"standard", "Standard", 199};
  o.shipping_address = {"adr_1", "Alice Example", "1 Main St", "Apt 4", "Springfield", "IL",
                        "12345", "US", "+1 555 0100"};
  o.created_at_ms = 1'795'341'600'000;
  return o;
}

order_email sample(std::string event = "order.paid") {
  return {event, std::string(message_for(event)), sample_order(), "USD", "help@shop.example",
          1'795'341'660'000};
}

TEST(EmailAmounts, HaveTheCurrencyAndTwoDecimals) {
  EXPECT_EQ(format_amount(25190, "USD"), "USD 251.90");
  EXPECT_EQ(format_amount(5, "EUR"), "EUR 0.05");
  EXPECT_EQ(format_amount(0, "USD"), "USD 0.00");
  EXPECT_EQ(format_amount(100000000000, "JPY"), "JPY 1000000000.00");
  EXPECT_EQ(format_amount(-150, "USD"), "USD -1.50");
}

TEST(EmailTemplates, TheConfirmationHasTheOrderItsLinesTotalsAddressAndSupport) {
  auto r = email_templates().render(sample());
  ASSERT_TRUE(r.ok()) << r.err().message;
  EXPECT_EQ(r->subject, "Order ord_7k2 confirmed\n");
  for (const std::string* part : {&r->text, &r->html}) {
    for (const char* expected :
         {"ord_7k2", "Limited sneaker", "USD 129.99", "Logo cap", "USD 59.96", "USD 119.92",
          "USD 249.91", "USD 1.99", "USD 251.90", "Standard", "1 Main St", "Apt 4",
          "Springfield, IL 12345", "help@shop.example", "2026-11-22 10:00 UTC"})
      EXPECT_NE(part->find(expected), std::string::npos) << expected << " missing from\n" << *part;
    EXPECT_EQ(part->find("Tracking"), std::string::npos);
  }
  EXPECT_NE(r->text.find("2 x Logo cap (cap), USD 59.96 each: USD 119.92"), std::string::npos) << r->text;
}

TEST(EmailTemplates, ShippingMailsCarryTheTrackingNumber) {
  auto e = sample("order.shipped");
  e.order_now.status = order_status::shipped;
  e.order_now.tracking_number = "1Z999AA10123456784";
  auto r = email_templates().render(e);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->subject, "Order ord_7k2: Your order has shipped.\n");
  EXPECT_NE(r->text.find("Tracking number: 1Z999AA10123456784\n"), std::string::npos) << r->text;
  EXPECT_NE(r->html.find("1Z999AA10123456784"), std::string::npos);
}

TEST(EmailTemplates, WhatUsersTypedIsEscapedInHtmlOnly) {
  auto e = sample();
  e.order_now.items[0].name = "<script>alert('x')</script>";
  e.order_now.shipping_address.name = "Bob \"&\" <b>Tables</b>";
  e.order_now.shipping_address.line1 = "1 Main St\r\nBcc: evil@example.net";
  auto r = email_templates().render(e);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->html.find("<script>"), std::string::npos);
  EXPECT_EQ(r->html.find("<b>Tables"), std::string::npos);
  EXPECT_NE(r->html.find("&lt;script&gt;alert(&apos;x&apos;)&lt;/script&gt;"), std::string::npos);
  EXPECT_NE(r->html.find("Bob &quot;&amp;&quot; &lt;b&gt;Tables&lt;/b&gt;"), std::string::npos);
  EXPECT_NE(r->text.find("<script>alert('x')</script>"), std::string::npos);
  EXPECT_NE(r->text.find("Bob \"&\" <b>Tables</b>"), std::string::npos);
}

class TemplateDir : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("stampede-templates-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  void write(const std::string& name, const std::string& text) {
    std::ofstream(dir_ / name) << text;
  }
  std::filesystem::path dir_;
};

TEST_F(TemplateDir, FilesReplaceTheDefaultsForEveryEventOrForOne) {
  write("subject.mustache", "[Shop] {{order_id}} is {{status}}");
  write("order.shipped.text.mustache", "On its way: {{tracking_number}}");
  auto t = email_templates::load(dir_.string());
  ASSERT_TRUE(t.ok()) << t.err().message;
  auto paid = t->render(sample());
  ASSERT_TRUE(paid.ok());
  EXPECT_EQ(paid->subject, "[Shop] ord_7k2 is paid");
  EXPECT_EQ(paid->text, email_templates().render(sample())->text);  // the default text
  auto e = sample("order.shipped");
  e.order_now.tracking_number = "1Z1";
  auto shipped = t->render(e);
  ASSERT_TRUE(shipped.ok());
  EXPECT_EQ(shipped->text, "On its way: 1Z1");
  EXPECT_EQ(shipped->html, email_templates().render(e)->html);
}

TEST_F(TemplateDir, ABrokenTemplateIsRefusedAtLoadNamingTheFile) {
  write("html.mustache", "{{#items}}never closed");
  auto t = email_templates::load(dir_.string());
  ASSERT_FALSE(t.ok());
  EXPECT_NE(t.err().message.find("html.mustache"), std::string::npos) << t.err().message;
}

TEST_F(TemplateDir, AnUnknownFileOrEventIsRefused) {
  write("order.shiped.subject.mustache", "typo");
  EXPECT_FALSE(email_templates::load(dir_.string()).ok());
  std::filesystem::remove(dir_ / "order.shiped.subject.mustache");
  write("footer.mustache", "x");
  EXPECT_FALSE(email_templates::load(dir_.string()).ok());
  EXPECT_FALSE(email_templates::load((dir_ / "absent").string()).ok());
}

}  // namespace
}  // namespace stampede::email
