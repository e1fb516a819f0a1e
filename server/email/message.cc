#include "server/email/message.h"

#include <cstdio>
#include <ctime>

#include "absl/strings/escaping.h"

namespace stampede::email {

namespace {

bool is_alnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

// The characters of a dot-atom's atoms (RFC 5322 atext), as the HTML standard lists them.
bool is_atext(char c) {
  static constexpr std::string_view specials = "!#$%&'*+/=?^_`{|}~-";
  return is_alnum(c) || specials.find(c) != std::string_view::npos;
}

bool valid_local_part(std::string_view local) {
  if (local.empty() || local.size() > local_part_length_max) return false;
  if (local.front() == '.' || local.back() == '.') return false;
  for (size_t i = 0; i < local.size(); ++i) {
    if (local[i] == '.') {
      if (local[i + 1] == '.') return false;  // i + 1 exists: the last char is not a dot
    } else if (!is_atext(local[i])) {
      return false;
    }
  }
  return true;
}

bool valid_label(std::string_view label) {
  if (label.empty() || label.size() > domain_label_length_max) return false;
  if (label.front() == '-' || label.back() == '-') return false;
  for (char c : label)
    if (!is_alnum(c) && c != '-') return false;
  return true;
}

bool valid_domain(std::string_view domain) {
  if (domain.empty()) return false;
  size_t start = 0;
  while (true) {
    size_t dot = domain.find('.', start);
    if (!valid_label(domain.substr(start, dot == std::string_view::npos ? dot : dot - start)))
      return false;
    if (dot == std::string_view::npos) return true;
    start = dot + 1;
  }
}

bool is_control(unsigned char c) { return c < 0x20 || c == 0x7f; }

// Header text: control characters (CR and LF among them) become spaces, runs of spaces
// one space, and none lead or trail (a folded line may not be blank).
std::string header_clean(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (is_control(static_cast<unsigned char>(c))) c = ' ';
    if (c == ' ' && (out.empty() || out.back() == ' ')) continue;
    out += c;
  }
  if (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

bool plain_ascii(std::string_view text) {
  for (unsigned char c : text)
    if (c >= 0x80 || is_control(c)) return false;
  return text.find("=?") == std::string_view::npos;
}

// RFC 2047 B-encoded words, none longer than 75 characters and no line past 76: the first
// word shares its line with `used` characters. Words split between UTF-8 sequences only.
std::string encoded_words(std::string_view utf8, size_t used) {
  constexpr std::string_view open = "=?UTF-8?B?", close = "?=";
  constexpr size_t line_max = 76, overhead = open.size() + close.size();
  std::string out;
  size_t budget = used + overhead + 4 < line_max ? (line_max - used - overhead) / 4 * 3 : 3;
  if (budget > encoded_word_bytes_max) budget = encoded_word_bytes_max;
  size_t pos = 0;
  while (pos < utf8.size()) {
    size_t end = std::min(utf8.size(), pos + budget);
    // Back up to the start of a UTF-8 sequence (a byte that is not 10xxxxxx).
    while (end < utf8.size() && end > pos + 1 && (static_cast<unsigned char>(utf8[end]) & 0xc0) == 0x80)
      --end;
    if (!out.empty()) out += "\r\n ";
    out += open;
    out += absl::Base64Escape(absl::string_view(utf8.data() + pos, end - pos));
    out += close;
    pos = end;
    budget = encoded_word_bytes_max;
  }
  return out;
}

// Plain ASCII folded at spaces so lines stay near 78 characters (a longer word stays whole).
std::string folded(std::string_view text, size_t used) {
  std::string out;
  size_t line = used;
  size_t start = 0;
  while (start < text.size()) {
    size_t space = text.find(' ', start + 1);
    if (space == std::string_view::npos) space = text.size();
    std::string_view piece = text.substr(start, space - start);  // " word" or the first word
    if (line + piece.size() > header_line_length_max && line > used && piece.front() == ' ') {
      out += "\r\n";
      line = 0;
    }
    out += piece;
    line += piece.size();
    if (space == text.size()) break;
    start = space;
  }
  return out;
}

char hex_digit(unsigned v) { return "0123456789ABCDEF"[v & 0xf]; }

// One line of text, quoted-printable, with soft breaks ("=" CRLF) to keep within 76.
void quoted_printable_line(std::string_view line, std::string& out) {
  size_t length = 0;
  for (size_t i = 0; i < line.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(line[i]);
    bool last = i + 1 == line.size();
    bool literal = (c >= 33 && c <= 126 && c != '=') || ((c == ' ' || c == '\t') && !last);
    char token[3] = {static_cast<char>(c), 0, 0};
    size_t token_length = 1;
    if (!literal) {
      token[0] = '=';
      token[1] = hex_digit(c >> 4);
      token[2] = hex_digit(c);
      token_length = 3;
    }
    if (length + token_length > qp_line_length_max - 1) {  // room for the soft break's "="
      out += "=\r\n";
      length = 0;
    }
    out.append(token, token_length);
    length += token_length;
  }
  out += "\r\n";
}

bool valid_id_part(std::string_view id) {
  constexpr size_t id_length_max = 128;
  if (id.empty() || id.size() > id_length_max) return false;
  for (char c : id)
    if (!is_alnum(c) && c != '_' && c != '-' && c != '.') return false;
  return id.front() != '.' && id.back() != '.' && id.find("..") == std::string_view::npos;
}

void append_part(std::string& out, std::string_view boundary, std::string_view type,
                 std::string_view body) {
  out += "--";
  out += boundary;
  out += "\r\nContent-Type: ";
  out += type;
  out += "; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n";
  out += quoted_printable(body);
}

}  // namespace

bool valid_address(std::string_view address) {
  if (address.size() > address_length_max) return false;
  size_t at = address.find('@');
  if (at == std::string_view::npos || address.find('@', at + 1) != std::string_view::npos)
    return false;
  return valid_local_part(address.substr(0, at)) && valid_domain(address.substr(at + 1));
}

std::string_view address_domain(std::string_view address) {
  size_t at = address.find('@');
  return at == std::string_view::npos ? std::string_view() : address.substr(at + 1);
}

result<mailbox> parse_mailbox(std::string_view text) {
  auto trim = [](std::string_view s) {
    while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
    while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
    return s;
  };
  text = trim(text);
  mailbox m;
  size_t open = text.rfind('<');
  if (open != std::string_view::npos && text.back() == '>') {
    std::string_view name = trim(text.substr(0, open));
    if (name.size() >= 2 && name.front() == '"' && name.back() == '"') {
      for (size_t i = 1; i + 1 < name.size(); ++i) {
        if (name[i] == '\\' && i + 2 < name.size()) ++i;
        m.display_name += name[i];
      }
    } else {
      m.display_name = name;
    }
    text = text.substr(open + 1, text.size() - open - 2);
  }
  m.address = text;
  for (unsigned char c : m.display_name)
    if (is_control(c)) return field_error("from", "the sender's name holds a control character");
  if (m.display_name.size() > display_name_length_max)
    return field_error("from", "the sender's name is too long");
  if (!valid_address(m.address)) return field_error("from", "not a valid email address");
  return m;
}

std::string encode_header_text(std::string_view utf8, size_t name_length) {
  std::string clean = header_clean(utf8);
  bool long_word = false;
  size_t run = 0;
  for (char c : clean) {
    run = c == ' ' ? 0 : run + 1;
    if (run > header_line_length_max - 2) long_word = true;
  }
  if (plain_ascii(clean) && !long_word) return folded(clean, name_length);
  return encoded_words(clean, name_length);
}

std::string format_mailbox(const mailbox& m) {
  if (m.display_name.empty()) return m.address;
  constexpr size_t quoted_name_max = 60;  // a quoted name is not folded: keep it short
  std::string name = header_clean(m.display_name);
  std::string out;
  if (plain_ascii(name) && name.size() <= quoted_name_max) {
    out += '"';
    for (char c : name) {
      if (c == '"' || c == '\\') out += '\\';
      out += c;
    }
    out += '"';
  } else {
    out = encoded_words(name, std::string_view("From: ").size());
  }
  return out + " <" + m.address + ">";
}

std::string quoted_printable(std::string_view text) {
  std::string out;
  size_t start = 0;
  while (start <= text.size()) {
    size_t nl = text.find('\n', start);
    std::string_view line = text.substr(start, nl == std::string_view::npos ? nl : nl - start);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (nl == std::string_view::npos && line.empty()) break;  // no empty line after a final \n
    quoted_printable_line(line, out);
    if (nl == std::string_view::npos) break;
    start = nl + 1;
  }
  return out;
}

std::string format_date(int64_t unix_ms) {
  static constexpr const char* days[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static constexpr const char* months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                           "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  time_t seconds = static_cast<time_t>(unix_ms / 1000);
  std::tm t{};
  gmtime_r(&seconds, &t);
  char buf[48];
  std::snprintf(buf, sizeof buf, "%s, %02d %s %04d %02d:%02d:%02d +0000", days[t.tm_wday],
                t.tm_mday, months[t.tm_mon], t.tm_year + 1900, t.tm_hour, t.tm_min, t.tm_sec);
  return buf;
}

std::string message_id(std::string_view event_id, std::string_view domain) {
  return "<" + std::string(event_id) + "@" + std::string(domain) + ">";
}

result<std::string> build_message(const message_fields& m) {
  if (!valid_address(m.to)) return field_error("email", "not a valid email address");
  if (!valid_address(m.from.address)) return field_error("from", "not a valid email address");
  if (!valid_id_part(m.event_id) || (!m.thread_id.empty() && !valid_id_part(m.thread_id)))
    return field_error("event_id", "an id a Message-ID cannot hold");
  constexpr size_t boundary_id_max = 50;  // a boundary is at most 70 characters
  std::string boundary = "=_stampede_" + m.event_id.substr(0, boundary_id_max);
  std::string_view domain = address_domain(m.from.address);
  std::string out;
  out += "Date: " + format_date(m.date_ms) + "\r\n";
  out += "From: " + format_mailbox(m.from) + "\r\n";
  out += "To: " + m.to + "\r\n";
  out += "Subject: " + encode_header_text(m.subject, std::string_view("Subject: ").size()) + "\r\n";
  out += "Message-ID: " + message_id(m.event_id, domain) + "\r\n";
  if (!m.thread_id.empty()) out += "References: " + message_id(m.thread_id, domain) + "\r\n";
  out += "MIME-Version: 1.0\r\n";
  out += "Auto-Submitted: auto-generated\r\n";
  out += "Content-Type: multipart/alternative; boundary=\"" + boundary + "\"\r\n\r\n";
  append_part(out, boundary, "text/plain", m.text);
  append_part(out, boundary, "text/html", m.html);
  out += "--" + boundary + "--\r\n";
  return out;
}

}  // namespace stampede::email
