// The JSON layer must produce what JavaScript's JSON.stringify produces: the bridge compares bytes.
#include <gtest/gtest.h>

#include "json.h"

using namespace c2m;

static std::string num(double d) {
  std::string s;
  jsonNumber(s, d);
  return s;
}

static Json parsed(const std::string& text) {
  Json j;
  std::string err;
  EXPECT_TRUE(Json::parse(text, j, &err)) << text << ": " << err;
  return j;
}

TEST(Json, NumbersPrintLikeJavaScript) {
  EXPECT_EQ(num(47.5), "47.5");
  EXPECT_EQ(num(0.1), "0.1");
  EXPECT_EQ(num(1.0 / 3), "0.3333333333333333");
  EXPECT_EQ(num(10.0), "10");
  EXPECT_EQ(num(-0.0), "0");
  EXPECT_EQ(num(1e21), "1e+21");
  EXPECT_EQ(num(123456789012345680000.0), "123456789012345680000");
  EXPECT_EQ(num(1e-7), "1e-7");
  EXPECT_EQ(num(0.000001), "0.000001");
  EXPECT_EQ(num(-2.5e-8), "-2.5e-8");
  EXPECT_EQ(num(7.5), "7.5");
  EXPECT_EQ(num(1.5e300), "1.5e+300");
  EXPECT_EQ(Json(1763734575123LL).dump(), "1763734575123");
  EXPECT_EQ(Json(-61).dump(), "-61");
}

TEST(Json, StringsEscapeLikeJsonStringify) {
  EXPECT_EQ(Json("a\"b\\c\n\t\r\b\f").dump(), R"("a\"b\\c\n\t\r\b\f")");
  EXPECT_EQ(Json(std::string("\x01\x1f", 2)).dump(), R"("\u0001\u001f")");
  EXPECT_EQ(Json("/ stays, ünïcödé too").dump(), "\"/ stays, ünïcödé too\"");
}

TEST(Json, ObjectsKeepInsertionOrder) {
  Json o = Json::object();
  o.set("type", "x");
  o.set("b", 1);
  o.set("a", true);
  o.set("b", 2);  // replaces in place
  EXPECT_EQ(o.dump(), R"({"type":"x","b":2,"a":true})");
  EXPECT_TRUE(o.erase("type"));
  EXPECT_EQ(o.dump(), R"({"b":2,"a":true})");
}

TEST(Json, ParsesAndRoundTrips) {
  const std::string text = R"({"a":[1,-2.5,true,false,null,"x"],"b":{"c":{}},"d":[],"e":1.5e3,"f":"\u00e9\ud83d\ude00"})";
  Json j = parsed(text);
  EXPECT_EQ(j.get("a")->items().size(), 6u);
  EXPECT_TRUE(j.get("e")->isInt());  // 1.5e3 is the integer 1500, as in JavaScript
  EXPECT_EQ(j.get("e")->asInt(), 1500);
  EXPECT_EQ(j.get("f")->asString(), "é😀");
  EXPECT_EQ(j.dump(), R"({"a":[1,-2.5,true,false,null,"x"],"b":{"c":{}},"d":[],"e":1500,"f":"é😀"})");
  EXPECT_EQ(parsed(" \n{ \"k\" : [ 1 , 2 ] } \t").dump(), R"({"k":[1,2]})");
}

TEST(Json, RejectsInvalidDocuments) {
  for (const char* bad : {"", "hello", "{", "{\"a\":}", "[1,]", "{\"a\":1,}", "01", "1.", "-", "\"abc", "\"\\x\"",
                          "{\"a\" 1}", "[1] x", "tru", "\"a\nb\"", "{1:2}", "\"\\u12\""}) {
    Json j;
    std::string err;
    EXPECT_FALSE(Json::parse(bad, j, &err)) << bad;
    EXPECT_FALSE(err.empty()) << bad;
  }
}

TEST(Json, NestingIsBounded) {
  std::string deep(100, '[');
  deep += std::string(100, ']');
  Json j;
  std::string err;
  EXPECT_FALSE(Json::parse(deep, j, &err));
  EXPECT_NE(err.find("deep"), std::string::npos);
  EXPECT_TRUE(Json::parse(std::string(10, '[') + std::string(10, ']'), j));
}

TEST(Json, DuplicateKeysKeepTheLastValueLikeJsonParse) {
  EXPECT_EQ(parsed(R"({"a":1,"b":2,"a":3})").dump(), R"({"a":3,"b":2})");
}

TEST(Json, NumbersCompareAcrossIntAndDouble) {
  EXPECT_EQ(Json(10), Json(10.0));
  EXPECT_NE(Json(10), Json(10.5));
  EXPECT_NE(Json(1), Json(true));
}
