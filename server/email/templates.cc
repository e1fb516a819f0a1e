#include "server/email/templates.h"

#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <kainjow/mustache.hpp>

#include "core/webhook.h"

namespace stampede::assets {
std::string_view email_subject_template();
std::string_view email_text_template();
std::string_view email_html_template();
}  // namespace stampede::assets

namespace stampede::email {

namespace mustache = kainjow::mustache;

namespace {

constexpr std::string_view part_names[template_parts] = {"subject", "text", "html"};
constexpr std::string_view template_suffix = ".mustache";

// "2026-11-22 10:00 UTC": a date a person reads, the same in every mail client.
std::string human_time(int64_t unix_ms) {
  time_t seconds = static_cast<time_t>(unix_ms / 1000);
  std::tm t{};
  gmtime_r(&seconds, &t);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02d %02d:%02d UTC", t.tm_year + 1900, t.tm_mon + 1,
                t.tm_mday, t.tm_hour, t.tm_min);
  return buf;
}

mustache::data address_data(const address& a) {
  mustache::data d;
  d.set("name", a.name);
  d.set("line1", a.line1);
  d.set("line2", a.line2);
  d.set("city", a.city);
  d.set("region", a.region);
  d.set("postal_code", a.postal_code);
  d.set("country", a.country);
  d.set("phone", a.phone);
  return d;
}

// The address as the lines of an envelope, empty fields left out.
mustache::data address_lines(const address& a) {
  std::string city_line = a.city;
  if (!a.region.empty()) city_line += ", " + a.region;
  if (!a.postal_code.empty()) city_line += " " + a.postal_code;
  const std::string& locality = city_line;
  mustache::data lines{mustache::data::type::list};
  for (const std::string* line : {&a.name, &a.line1, &a.line2, &locality, &a.country, &a.phone})
    if (!line->empty()) lines.push_back(mustache::data("line", *line));
  return lines;
}

mustache::data items_data(const order& o, std::string_view currency) {
  mustache::data items{mustache::data::type::list};
  for (const auto& it : o.items) {
    mustache::data d;
    d.set("product_id", it.product_id);
    d.set("name", it.name);
    d.set("quantity", std::to_string(it.quantity));
    d.set("unit_price", format_amount(it.unit_price, currency));
    d.set("line_total", format_amount(it.line_total, currency));
    items.push_back(d);
  }
  return items;
}

// Everything a template may name. `is_<event>` (is_paid, is_shipped, ...) is true for the
// email's own event, so one template can word each event its own way.
mustache::data view(const order_email& e) {
  const order& o = e.order_now;
  mustache::data d;
  d.set("event", e.event);
  d.set("message", e.message);
  std::string_view event = e.event;
  if (event.substr(0, 6) == "order.") d.set("is_" + std::string(event.substr(6)), true);
  d.set("order_id", o.id);
  d.set("status", std::string(to_string(o.status)));
  d.set("placed_at", human_time(o.created_at_ms));
  d.set("event_at", human_time(e.at_ms));
  d.set("items", items_data(o, e.currency));
  d.set("subtotal", format_amount(o.subtotal, e.currency));
  d.set("shipping", format_amount(o.shipping, e.currency));
  d.set("total", format_amount(o.total, e.currency));
  d.set("currency", e.currency);
  d.set("shipping_method", o.method.name);
  d.set("shipping_address", address_data(o.shipping_address));
  d.set("address_lines", address_lines(o.shipping_address));
  if (o.tracking_number && !o.tracking_number->empty()) d.set("tracking_number", *o.tracking_number);
  d.set("support_email", e.support_email);
  return d;
}

result<std::string> render_one(const std::string& source, const mustache::data& data, bool html) {
  mustache::mustache tmpl(source);
  if (!html) tmpl.set_custom_escape([](const std::string& s) { return s; });
  std::string out = tmpl.render(data);
  if (!tmpl.is_valid()) return make_error(error_code::invalid_request, tmpl.error_message());
  return out;
}

result<std::string> read_template(const std::filesystem::path& path) {
  std::error_code ec;
  auto size = std::filesystem::file_size(path, ec);
  if (ec) return make_error(error_code::invalid_request, path.string() + ": " + ec.message());
  if (size > template_bytes_max)
    return make_error(error_code::invalid_request, path.string() + ": larger than 256 KiB");
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  if (!in) return make_error(error_code::invalid_request, path.string() + ": cannot be read");
  mustache::mustache parsed(text.str());
  if (!parsed.is_valid())
    return make_error(error_code::invalid_request, path.string() + ": " + parsed.error_message());
  return text.str();
}

// "order.shipped.subject.mustache" -> ("order.shipped", subject); "text.mustache" -> ("", text).
bool split_template_name(std::string_view name, std::string& event, template_part& part) {
  if (name.size() <= template_suffix.size() ||
      name.substr(name.size() - template_suffix.size()) != template_suffix)
    return false;
  name.remove_suffix(template_suffix.size());
  size_t dot = name.rfind('.');
  std::string_view part_name = dot == std::string_view::npos ? name : name.substr(dot + 1);
  event = dot == std::string_view::npos ? "" : std::string(name.substr(0, dot));
  for (size_t i = 0; i < template_parts; ++i) {
    if (part_names[i] != part_name) continue;
    part = static_cast<template_part>(i);
    return event.empty() || is_order_event(event);
  }
  return false;
}

}  // namespace

std::string format_amount(int64_t minor, std::string_view currency) {
  bool negative = minor < 0;
  uint64_t magnitude = negative ? 0 - static_cast<uint64_t>(minor) : static_cast<uint64_t>(minor);
  char buf[48];
  std::snprintf(buf, sizeof buf, "%s%llu.%02llu", negative ? "-" : "",
                static_cast<unsigned long long>(magnitude / 100),
                static_cast<unsigned long long>(magnitude % 100));
  return std::string(currency) + " " + buf;
}

std::string_view email_templates::builtin(template_part part) {
  switch (part) {
    case template_part::subject: return assets::email_subject_template();
    case template_part::text: return assets::email_text_template();
    case template_part::html: return assets::email_html_template();
  }
  return {};
}

email_templates::email_templates() {
  for (size_t i = 0; i < template_parts; ++i)
    general_[i] = std::string(builtin(static_cast<template_part>(i)));
}

result<email_templates> email_templates::load(const std::string& dir) {
  email_templates t;
  std::error_code ec;
  std::filesystem::directory_iterator it(dir, ec);
  if (ec) return make_error(error_code::invalid_request, dir + ": " + ec.message());
  for (const auto& entry : it) {
    std::string name = entry.path().filename().string(), event;
    template_part part;
    if (!split_template_name(name, event, part))
      return make_error(error_code::invalid_request,
                        entry.path().string() + ": not [<event>.]{subject,text,html}.mustache");
    auto text = read_template(entry.path());
    if (!text.ok()) return text.err();
    if (event.empty()) {
      t.general_[static_cast<size_t>(part)] = std::move(text.value());
      continue;
    }
    auto found = std::find_if(t.per_event_.begin(), t.per_event_.end(),
                              [&](const event_override& o) { return o.event == event; });
    if (found == t.per_event_.end()) found = t.per_event_.insert(t.per_event_.end(), {event, {}});
    found->parts[static_cast<size_t>(part)] = std::move(text.value());
  }
  return t;
}

const std::string& email_templates::source(const std::string& event, template_part part) const {
  size_t i = static_cast<size_t>(part);
  for (const auto& o : per_event_)
    if (o.event == event && !o.parts[i].empty()) return o.parts[i];
  return general_[i];
}

result<rendered_email> email_templates::render(const order_email& e) const {
  mustache::data data = view(e);
  auto subject = render_one(source(e.event, template_part::subject), data, false);
  if (!subject.ok()) return subject.err();
  auto text = render_one(source(e.event, template_part::text), data, false);
  if (!text.ok()) return text.err();
  auto html = render_one(source(e.event, template_part::html), data, true);
  if (!html.ok()) return html.err();
  return rendered_email{std::move(subject.value()), std::move(text.value()), std::move(html.value())};
}

}  // namespace stampede::email
