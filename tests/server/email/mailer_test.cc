#include "server/email/mailer.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <condition_variable>
#include <functional>
#include <mutex>
#include <optional>

#include "tests/server/email/mime_reader.h"
#include "tests/server/email/smtp_sink.h"

namespace stampede::email {
namespace {

// Long enough for any loaded machine; an outcome that never comes fails the test.
constexpr auto outcome_wait = std::chrono::seconds(60);

// Outcomes as they come back from the mailer thread.
class outcomes {
 public:
  mailer::on_outcome collector() {
    return [this](mail_outcome o) {
      std::lock_guard lock(mutex_);
      got_.push_back(std::move(o));
      changed_.notify_all();
    };
  }
  std::optional<mail_outcome> wait(size_t index) {
    std::unique_lock lock(mutex_);
    if (!changed_.wait_for(lock, outcome_wait, [&] { return got_.size() > index; })) return std::nullopt;
    return got_[index];
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<mail_outcome> got_;
};

// A loopback port nobody listens on (bound, then released).
int closed_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t n = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &n);
  ::close(fd);
  return ntohs(a.sin_port);
}

mail_job job(std::string event_id, std::string to = "alice@example.com") {
  order o;
  o.id = "ord_m1";
  o.status = order_status::paid;
  o.items = {{"sku-1", "Limited sneaker", 12999, 1, 12999}};
  o.subtotal = 12999;
  o.total = 12999;
  o.shipping_address = {"adr_1", "Alice", "1 Main St", "", "Springfield", "", "12345", "US", ""};
  o.created_at_ms = 1'795'341'600'000;
  return {std::move(event_id), std::move(to),
          {"order.paid", "Your payment went through. Thank you!", o, "USD", "help@shop.example",
           1'795'341'600'000}};
}

smtp_settings settings(const std::string& url) {
  return {url, "", "", {"Shop", "orders@shop.example"}};
}

class Mailer : public ::testing::Test {
 protected:
  void SetUp() override {
    maildir_ = (std::filesystem::temp_directory_path() /
                ("stampede-mail-" + std::to_string(::getpid()) + "-" +
                 ::testing::UnitTest::GetInstance()->current_test_info()->name()))
                   .string();
  }
  void TearDown() override { std::filesystem::remove_all(maildir_); }
  std::shared_ptr<const email_templates> templates_ = std::make_shared<email_templates>();
  std::string maildir_;
};

TEST_F(Mailer, AMessageReachesTheSinkWithItsHeadersAndParts) {
  smtp_sink sink(maildir_);
  ASSERT_TRUE(sink.running());
  outcomes got;  // outlives the mailer, whose thread calls into it
  mailer m(settings(sink.url()), templates_);
  ASSERT_TRUE(m.submit(job("evt_1"), got.collector()));
  auto o = got.wait(0);
  ASSERT_TRUE(o);
  EXPECT_TRUE(o->accepted) << o->detail;
  EXPECT_EQ(o->event_id, "evt_1");
  EXPECT_EQ(o->smtp_code, 250);
  auto mail = sink.messages();
  ASSERT_EQ(mail.size(), 1u);
  parsed_message p = parse_message(mail[0]);
  EXPECT_EQ(p.header("Message-ID"), "<evt_1@shop.example>");
  EXPECT_EQ(p.header("To"), "alice@example.com");
  EXPECT_EQ(p.header("Subject"), "Order ord_m1 confirmed");
  ASSERT_EQ(p.parts.size(), 2u);
  EXPECT_NE(p.parts[0].body.find("USD 129.99"), std::string::npos);
  EXPECT_NE(p.parts[1].body.find("help@shop.example"), std::string::npos);
  EXPECT_EQ(m.sent_total(), 1u);
}

TEST_F(Mailer, ASinkThatIsDownFailsForNowAndTheSameMessageGoesOnceItIsBack) {
  int port = closed_port();
  outcomes got;
  mailer m(settings("smtp://127.0.0.1:" + std::to_string(port)), templates_);
  ASSERT_TRUE(m.submit(job("evt_2"), got.collector()));
  auto down = got.wait(0);
  ASSERT_TRUE(down);
  EXPECT_FALSE(down->accepted);
  EXPECT_FALSE(down->permanent) << "a server that is down is worth retrying";
  EXPECT_EQ(down->smtp_code, 0);
  EXPECT_EQ(m.failed_total(), 1u);

  smtp_sink sink(maildir_, port);
  ASSERT_TRUE(sink.running());
  ASSERT_TRUE(m.submit(job("evt_2"), got.collector()));
  auto back = got.wait(1);
  ASSERT_TRUE(back);
  EXPECT_TRUE(back->accepted) << back->detail;
  auto mail = sink.messages();
  ASSERT_EQ(mail.size(), 1u);
  EXPECT_EQ(parse_message(mail[0]).header("Message-ID"), "<evt_2@shop.example>");
  // What arrived is the message the mailer builds for that event, byte for byte.
  auto r = templates_->render(job("evt_2").content);
  ASSERT_TRUE(r.ok());
  auto expected = build_message({{"Shop", "orders@shop.example"}, "alice@example.com", r->subject,
                                 r->text, r->html, "evt_2", "ord_m1", 1'795'341'600'000});
  ASSERT_TRUE(expected.ok());
  EXPECT_EQ(mail[0], expected.value());
}

TEST_F(Mailer, ASinkRestartedBetweenMessagesIsReconnectedTo) {
  int port = 0;
  outcomes got;
  {
    smtp_sink first(maildir_);
    ASSERT_TRUE(first.running());
    port = first.port();
    mailer m(settings(first.url()), templates_);
    ASSERT_TRUE(m.submit(job("evt_3"), got.collector()));
    ASSERT_TRUE(got.wait(0) && got.wait(0)->accepted);
    first.stop();
    smtp_sink second(maildir_, port);
    ASSERT_TRUE(second.running());
    ASSERT_TRUE(m.submit(job("evt_4"), got.collector()));
    auto o = got.wait(1);
    ASSERT_TRUE(o);
    EXPECT_TRUE(o->accepted) << "a connection the sink closed must not be reused: " << o->detail;
  }
  EXPECT_EQ(smtp_sink::read_maildir(maildir_).size(), 2u);
}

TEST_F(Mailer, A5xxRefusalIsFinalAnd4xxIsNot) {
  smtp_sink sink(maildir_);
  ASSERT_TRUE(sink.running());
  outcomes got;  // outlives the mailer, whose thread calls into it
  mailer m(settings(sink.url()), templates_);
  ASSERT_TRUE(m.submit(job("evt_5", "reject@example.com"), got.collector()));
  ASSERT_TRUE(m.submit(job("evt_6", "tempfail@example.com"), got.collector()));
  auto rejected = got.wait(0), deferred = got.wait(1);
  ASSERT_TRUE(rejected && deferred);
  EXPECT_FALSE(rejected->accepted);
  EXPECT_TRUE(rejected->permanent);
  EXPECT_EQ(rejected->smtp_code, 550);
  EXPECT_FALSE(deferred->accepted);
  EXPECT_FALSE(deferred->permanent);
  EXPECT_EQ(deferred->smtp_code, 451);
  EXPECT_TRUE(sink.messages().empty());
}

TEST_F(Mailer, AMessageThatCannotBeBuiltIsRefusedWithoutTheNetwork) {
  outcomes got;
  mailer m(settings("smtp://127.0.0.1:" + std::to_string(closed_port())), templates_);
  ASSERT_TRUE(m.submit(job("evt_7", "alice@example.com\r\nBcc: evil@example.net"), got.collector()));
  auto o = got.wait(0);
  ASSERT_TRUE(o);
  EXPECT_FALSE(o->accepted);
  EXPECT_TRUE(o->permanent);
  EXPECT_NE(o->detail.find("email"), std::string::npos) << o->detail;
}

TEST_F(Mailer, TheQueueIsBoundedAndRefusesRatherThanBlocks) {
  // The first outcome's callback holds the mailer thread until released, so what follows
  // stays queued. Everything the callbacks touch outlives the mailer.
  std::mutex mutex;
  std::condition_variable cv;
  bool in_callback = false, release = false;
  auto let_go = [&] {
    std::lock_guard lock(mutex);
    release = true;
    cv.notify_all();
  };
  outcomes got;
  mailer m(settings("smtp://127.0.0.1:" + std::to_string(closed_port())), templates_);
  // Released before the mailer joins its thread, also when an assertion below fails.
  std::unique_ptr<void, std::function<void(void*)>> on_exit(&m, [&](void*) { let_go(); });
  ASSERT_TRUE(m.submit(job("evt_hold"), [&](mail_outcome) {
    std::unique_lock lock(mutex);
    in_callback = true;
    cv.notify_all();
    cv.wait(lock, [&] { return release; });
  }));
  {
    std::unique_lock lock(mutex);
    ASSERT_TRUE(cv.wait_for(lock, outcome_wait, [&] { return in_callback; }));
  }
  for (size_t i = 0; i < mail_queue_max; ++i)
    ASSERT_TRUE(m.submit(job("evt_q" + std::to_string(i)), got.collector())) << i;
  EXPECT_EQ(m.queued(), mail_queue_max);
  EXPECT_FALSE(m.submit(job("evt_over"), got.collector()));
  let_go();
  ASSERT_TRUE(got.wait(mail_queue_max - 1));
  EXPECT_EQ(m.queued(), 0u);
  EXPECT_TRUE(m.submit(job("evt_after"), got.collector()));
  EXPECT_TRUE(got.wait(mail_queue_max));
}

TEST(SmtpUrl, OnlySmtpAndSmtpsWithAHostAndNoSecretsPass) {
  for (const char* good : {"smtp://127.0.0.1:2525", "smtps://mail.example.com", "smtp://[::1]:25/",
                           "smtp://mail.example.com:587/shop.example"})
    EXPECT_TRUE(check_smtp_url(good).ok()) << good;
  for (const char* bad : {"", "mail.example.com", "http://mail.example.com", "smtp://",
                          "smtp://user:pw@mail.example.com", "smtp://mail.example.com/?x=1",
                          "smtp://mail.example.com\r\n", "imap://mail.example.com"})
    EXPECT_FALSE(check_smtp_url(bad).ok()) << bad;
}

}  // namespace
}  // namespace stampede::email
