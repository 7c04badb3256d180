// A small JSON value, parser and serializer: just enough for the native protocol's message set.
//
// Why not ArduinoJson & co.: the protocol fixes the key order and the exact bytes (docs/protocol.md),
// so the encoder must write keys in insertion order and numbers the way JavaScript's JSON.stringify
// does. Objects here keep insertion order; the serializer mirrors JSON.stringify for the values the
// protocol uses (integers, short decimals, strings, booleans, arrays, objects).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace c2m {

class Json {
 public:
  enum class Type : uint8_t { Null, Bool, Int, Double, String, Array, Object };
  using Member = std::pair<std::string, Json>;

  Json() = default;
  Json(std::nullptr_t) {}
  Json(bool b) : type_(Type::Bool), b_(b) {}
  Json(int v) : type_(Type::Int), i_(v) {}
  Json(long v) : type_(Type::Int), i_(v) {}
  Json(long long v) : type_(Type::Int), i_(v) {}
  Json(unsigned v) : type_(Type::Int), i_(v) {}
  Json(unsigned long v) : type_(Type::Int), i_(static_cast<int64_t>(v)) {}
  Json(unsigned long long v) : type_(Type::Int), i_(static_cast<int64_t>(v)) {}
  Json(double d) : type_(Type::Double), d_(d) {}
  Json(const char* s) : type_(Type::String), s_(s) {}
  Json(std::string s) : type_(Type::String), s_(std::move(s)) {}

  static Json array() { Json j; j.type_ = Type::Array; return j; }
  static Json object() { Json j; j.type_ = Type::Object; return j; }

  Type type() const { return type_; }
  bool isNull() const { return type_ == Type::Null; }
  bool isBool() const { return type_ == Type::Bool; }
  bool isInt() const { return type_ == Type::Int; }
  /** Any number, integer or not. */
  bool isNumber() const { return type_ == Type::Int || type_ == Type::Double; }
  bool isString() const { return type_ == Type::String; }
  bool isArray() const { return type_ == Type::Array; }
  bool isObject() const { return type_ == Type::Object; }

  bool asBool() const { return b_; }
  int64_t asInt() const { return type_ == Type::Double ? static_cast<int64_t>(d_) : i_; }
  double asDouble() const { return type_ == Type::Int ? static_cast<double>(i_) : d_; }
  const std::string& asString() const { return s_; }
  const std::vector<Json>& items() const { return arr_; }
  const std::vector<Member>& members() const { return obj_; }

  /** Object member by key (first match), or nullptr. */
  const Json* get(const char* key) const;
  /** Set an object member: replaces an existing key in place (keeps its position), else appends. */
  Json& set(const std::string& key, Json value);
  /** Append to an array. */
  Json& push(Json value);
  /** Remove an object member; true if it was there. */
  bool erase(const char* key);

  /** Compact JSON, no whitespace, like JSON.stringify. */
  std::string dump() const;
  void dumpTo(std::string& out) const;

  /** Strict RFC 8259 parse of a complete document. On failure returns false and sets err. */
  static bool parse(const char* data, size_t len, Json& out, std::string* err = nullptr, int maxDepth = 32);
  static bool parse(const std::string& s, Json& out, std::string* err = nullptr) {
    return parse(s.data(), s.size(), out, err);
  }

  bool operator==(const Json& o) const;
  bool operator!=(const Json& o) const { return !(*this == o); }

 private:
  Type type_ = Type::Null;
  bool b_ = false;
  int64_t i_ = 0;
  double d_ = 0;
  std::string s_;
  std::vector<Json> arr_;
  std::vector<Member> obj_;
};

/** Append s as a JSON string literal with JSON.stringify's escaping. */
void jsonQuote(std::string& out, const std::string& s);
/** Append a number formatted like JavaScript's Number#toString (shortest round-trip form). */
void jsonNumber(std::string& out, double d);

}  // namespace c2m
