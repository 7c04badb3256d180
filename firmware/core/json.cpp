#include "json.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace c2m {

const Json* Json::get(const char* key) const {
  if (type_ != Type::Object) return nullptr;
  for (const auto& m : obj_)
    if (m.first == key) return &m.second;
  return nullptr;
}

Json& Json::set(const std::string& key, Json value) {
  if (type_ != Type::Object) *this = object();
  for (auto& m : obj_)
    if (m.first == key) {
      m.second = std::move(value);
      return m.second;
    }
  obj_.emplace_back(key, std::move(value));
  return obj_.back().second;
}

Json& Json::push(Json value) {
  if (type_ != Type::Array) *this = array();
  arr_.push_back(std::move(value));
  return arr_.back();
}

bool Json::erase(const char* key) {
  for (auto it = obj_.begin(); it != obj_.end(); ++it)
    if (it->first == key) {
      obj_.erase(it);
      return true;
    }
  return false;
}

bool Json::operator==(const Json& o) const {
  if (isNumber() && o.isNumber()) {
    if (isInt() && o.isInt()) return i_ == o.i_;
    return asDouble() == o.asDouble();
  }
  if (type_ != o.type_) return false;
  switch (type_) {
    case Type::Null: return true;
    case Type::Bool: return b_ == o.b_;
    case Type::String: return s_ == o.s_;
    case Type::Array: return arr_ == o.arr_;
    case Type::Object: return obj_ == o.obj_;
    default: return false;
  }
}

// ---- serializer -------------------------------------------------------------------------------

void jsonQuote(std::string& out, const std::string& s) {
  static const char* hex = "0123456789abcdef";
  out += '"';
  for (unsigned char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20) {
          out += "\\u00";
          out += hex[c >> 4];
          out += hex[c & 15];
        } else {
          out += static_cast<char>(c);  // UTF-8 passes through, as in JSON.stringify
        }
    }
  }
  out += '"';
}

void jsonNumber(std::string& out, double d) {
  if (!std::isfinite(d)) {  // JSON.stringify(NaN) === "null"
    out += "null";
    return;
  }
  if (d == 0) {  // also -0, which JavaScript prints as 0
    out += '0';
    return;
  }
  // Shortest digit string that reads back to the same double (what JavaScript prints), found by
  // trying increasing precision: works with any printf, unlike std::to_chars on older toolchains.
  char buf[40];
  for (int prec = 1; prec <= 17; ++prec) {
    snprintf(buf, sizeof buf, "%.*e", prec - 1, d);
    if (strtod(buf, nullptr) == d) break;
  }
  // buf is "[-]D[.DDD]e[+-]XX": split into sign, digits and decimal exponent.
  const char* p = buf;
  bool neg = *p == '-';
  if (neg) ++p;
  std::string digits;
  for (; *p && *p != 'e'; ++p)
    if (*p != '.') digits += *p;
  int exp10 = atoi(p + 1);
  while (digits.size() > 1 && digits.back() == '0') digits.pop_back();
  const int k = static_cast<int>(digits.size());
  const int n = exp10 + 1;  // position of the decimal point relative to the digits
  if (neg) out += '-';
  // ECMA-262 Number::toString, steps for radix 10.
  if (k <= n && n <= 21) {
    out += digits;
    out.append(static_cast<size_t>(n - k), '0');
  } else if (0 < n && n <= 21) {
    out.append(digits, 0, static_cast<size_t>(n));
    out += '.';
    out.append(digits, static_cast<size_t>(n), std::string::npos);
  } else if (-6 < n && n <= 0) {
    out += "0.";
    out.append(static_cast<size_t>(-n), '0');
    out += digits;
  } else {
    out += digits[0];
    if (k > 1) {
      out += '.';
      out.append(digits, 1, std::string::npos);
    }
    out += 'e';
    out += n - 1 >= 0 ? '+' : '-';
    out += std::to_string(std::abs(n - 1));
  }
}

void Json::dumpTo(std::string& out) const {
  switch (type_) {
    case Type::Null: out += "null"; break;
    case Type::Bool: out += b_ ? "true" : "false"; break;
    case Type::Int: out += std::to_string(static_cast<long long>(i_)); break;
    case Type::Double: jsonNumber(out, d_); break;
    case Type::String: jsonQuote(out, s_); break;
    case Type::Array:
      out += '[';
      for (size_t i = 0; i < arr_.size(); ++i) {
        if (i) out += ',';
        arr_[i].dumpTo(out);
      }
      out += ']';
      break;
    case Type::Object:
      out += '{';
      for (size_t i = 0; i < obj_.size(); ++i) {
        if (i) out += ',';
        jsonQuote(out, obj_[i].first);
        out += ':';
        obj_[i].second.dumpTo(out);
      }
      out += '}';
      break;
  }
}

std::string Json::dump() const {
  std::string out;
  dumpTo(out);
  return out;
}

// ---- parser -----------------------------------------------------------------------------------

namespace {

struct Parser {
  const char* p;
  const char* end;
  int depthLeft;
  std::string err;

  bool fail(const char* what) {
    if (err.empty()) err = what;
    return false;
  }
  void ws() {
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')) ++p;
  }
  bool lit(const char* word) {
    size_t n = strlen(word);
    if (static_cast<size_t>(end - p) < n || memcmp(p, word, n) != 0) return fail("invalid literal");
    p += n;
    return true;
  }

  static void utf8(std::string& out, uint32_t cp) {
    if (cp < 0x80) {
      out += static_cast<char>(cp);
    } else if (cp < 0x800) {
      out += static_cast<char>(0xC0 | (cp >> 6));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
      out += static_cast<char>(0xE0 | (cp >> 12));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
      out += static_cast<char>(0xF0 | (cp >> 18));
      out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    }
  }

  bool hex4(uint32_t& v) {
    if (end - p < 4) return fail("truncated \\u escape");
    v = 0;
    for (int i = 0; i < 4; ++i, ++p) {
      char c = *p;
      v <<= 4;
      if (c >= '0' && c <= '9') v |= static_cast<uint32_t>(c - '0');
      else if (c >= 'a' && c <= 'f') v |= static_cast<uint32_t>(c - 'a' + 10);
      else if (c >= 'A' && c <= 'F') v |= static_cast<uint32_t>(c - 'A' + 10);
      else return fail("bad \\u escape");
    }
    return true;
  }

  bool str(std::string& out) {
    ++p;  // opening quote
    while (true) {
      if (p >= end) return fail("unterminated string");
      unsigned char c = static_cast<unsigned char>(*p++);
      if (c == '"') return true;
      if (c < 0x20) return fail("control character in string");
      if (c != '\\') {
        out += static_cast<char>(c);
        continue;
      }
      if (p >= end) return fail("unterminated escape");
      char e = *p++;
      switch (e) {
        case '"': out += '"'; break;
        case '\\': out += '\\'; break;
        case '/': out += '/'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'n': out += '\n'; break;
        case 'r': out += '\r'; break;
        case 't': out += '\t'; break;
        case 'u': {
          uint32_t cp;
          if (!hex4(cp)) return false;
          // A high surrogate followed by an escaped low surrogate is one code point.
          if (cp >= 0xD800 && cp <= 0xDBFF && end - p >= 6 && p[0] == '\\' && p[1] == 'u') {
            const char* save = p;
            p += 2;
            uint32_t lo;
            if (!hex4(lo)) return false;
            if (lo >= 0xDC00 && lo <= 0xDFFF) cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            else p = save;
          }
          utf8(out, cp);
          break;
        }
        default: return fail("bad escape");
      }
    }
  }

  bool num(Json& out) {
    const char* start = p;
    bool integral = true;
    if (p < end && *p == '-') ++p;
    if (p >= end) return fail("bad number");
    if (*p == '0') {
      ++p;
    } else if (*p >= '1' && *p <= '9') {
      while (p < end && *p >= '0' && *p <= '9') ++p;
    } else {
      return fail("bad number");
    }
    if (p < end && *p == '.') {
      integral = false;
      ++p;
      if (p >= end || *p < '0' || *p > '9') return fail("bad number");
      while (p < end && *p >= '0' && *p <= '9') ++p;
    }
    if (p < end && (*p == 'e' || *p == 'E')) {
      integral = false;
      ++p;
      if (p < end && (*p == '+' || *p == '-')) ++p;
      if (p >= end || *p < '0' || *p > '9') return fail("bad number");
      while (p < end && *p >= '0' && *p <= '9') ++p;
    }
    std::string text(start, p);
    if (integral && text.size() <= 18) {  // fits int64 without overflow checks
      out = Json(static_cast<long long>(strtoll(text.c_str(), nullptr, 10)));
    } else {
      double d = strtod(text.c_str(), nullptr);
      // 1e3 or 5.0 are integers to JavaScript too: keep them integral so they re-encode as "1000", "5".
      if (std::isfinite(d) && d == std::floor(d) && std::fabs(d) < 9007199254740992.0)
        out = Json(static_cast<long long>(d));
      else
        out = Json(d);
    }
    return true;
  }

  bool value(Json& out) {
    ws();
    if (p >= end) return fail("unexpected end of input");
    switch (*p) {
      case 'n': out = Json(); return lit("null");
      case 't': out = Json(true); return lit("true");
      case 'f': out = Json(false); return lit("false");
      case '"': {
        std::string s;
        if (!str(s)) return false;
        out = Json(std::move(s));
        return true;
      }
      case '[': {
        if (--depthLeft < 0) return fail("nested too deeply");
        ++p;
        out = Json::array();
        ws();
        if (p < end && *p == ']') {
          ++p;
          ++depthLeft;
          return true;
        }
        while (true) {
          Json item;
          if (!value(item)) return false;
          out.push(std::move(item));
          ws();
          if (p < end && *p == ',') { ++p; continue; }
          if (p < end && *p == ']') { ++p; ++depthLeft; return true; }
          return fail("expected , or ] in array");
        }
      }
      case '{': {
        if (--depthLeft < 0) return fail("nested too deeply");
        ++p;
        out = Json::object();
        ws();
        if (p < end && *p == '}') {
          ++p;
          ++depthLeft;
          return true;
        }
        while (true) {
          ws();
          if (p >= end || *p != '"') return fail("expected a string key");
          std::string key;
          if (!str(key)) return false;
          ws();
          if (p >= end || *p != ':') return fail("expected : after key");
          ++p;
          Json v;
          if (!value(v)) return false;
          out.set(key, std::move(v));  // a repeated key keeps the last value, as JSON.parse does
          ws();
          if (p < end && *p == ',') { ++p; continue; }
          if (p < end && *p == '}') { ++p; ++depthLeft; return true; }
          return fail("expected , or } in object");
        }
      }
      default:
        if (*p == '-' || (*p >= '0' && *p <= '9')) return num(out);
        return fail("unexpected character");
    }
  }
};

}  // namespace

bool Json::parse(const char* data, size_t len, Json& out, std::string* err, int maxDepth) {
  Parser ps{data, data + len, maxDepth, {}};
  Json v;
  bool ok = ps.value(v);
  if (ok) {
    ps.ws();
    if (ps.p != ps.end) ok = ps.fail("trailing characters after JSON value");
  }
  if (!ok) {
    if (err) *err = ps.err;
    return false;
  }
  out = std::move(v);
  return true;
}

}  // namespace c2m
