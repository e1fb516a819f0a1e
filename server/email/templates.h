// What an order email says: the subject, text and HTML templates (Mustache, Debian's
// kainjow header), the defaults built into the binary, overridable from a directory, and
// the view of an order they are rendered with. HTML-escaping is on for the HTML part, so
// a product or shipping name containing "<script>" arrives as text; the text and subject
// are rendered unescaped (the subject is made header-safe by the message builder).
// Loading reads files (start-up only); a loaded set is immutable and renders on any thread.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/errors.h"
#include "core/order.h"

namespace stampede::email {

inline constexpr size_t template_bytes_max = 256 * 1024;

// "USD 251.90": the currency code and the minor units with two decimals.
std::string format_amount(int64_t minor, std::string_view currency);

// One email's facts: the event and the order as it stood then.
struct order_email {
  std::string event;    // "order.paid"
  std::string message;  // the inbox sentence ("Your payment went through. Thank you!")
  order order_now;
  std::string currency;
  std::string support_email;
  int64_t at_ms = 0;    // when the event happened
};

struct rendered_email {
  std::string subject;
  std::string text;
  std::string html;
};

enum class template_part : uint8_t { subject, text, html };
inline constexpr size_t template_parts = 3;

class email_templates {
 public:
  // The built-in templates.
  email_templates();
  // The built-in ones, with each file of `dir` that exists taking a part's place:
  // "subject.mustache", "text.mustache", "html.mustache" for every event, and
  // "<event>.<part>.mustache" (e.g. "order.shipped.subject.mustache") for one event.
  // invalid_request naming the file when one cannot be read or does not parse.
  static result<email_templates> load(const std::string& dir);

  result<rendered_email> render(const order_email& e) const;

  // The built-in source of a part (for documentation and tests).
  static std::string_view builtin(template_part part);

 private:
  struct event_override {
    std::string event;
    std::array<std::string, template_parts> parts;  // "" where the general one applies
  };
  std::array<std::string, template_parts> general_;
  std::vector<event_override> per_event_;
  const std::string& source(const std::string& event, template_part part) const;
};

}  // namespace stampede::email
