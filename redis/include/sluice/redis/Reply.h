#pragma once
// One Redis reply (RESP2), as a plain value: nil, an integer, a string (bulk
// or simple), an array of replies, or an error reply's text. Accessors of the
// wrong type throw RedisError(Protocol) instead of returning a default, so a
// script that changed its return type fails loudly.

#include <string>
#include <vector>

namespace sluice::redis {

class Reply {
public:
    enum class Type { Nil, Integer, String, Array, Error };

    Reply() = default;  // nil
    static Reply nil() { return {}; }
    static Reply fromInteger(long long value);
    static Reply fromString(std::string value);
    static Reply fromArray(std::vector<Reply> elements);
    static Reply fromError(std::string message);

    Type type() const { return _type; }
    bool isNil() const { return _type == Type::Nil; }
    bool isInteger() const { return _type == Type::Integer; }
    bool isString() const { return _type == Type::String; }
    bool isArray() const { return _type == Type::Array; }
    bool isError() const { return _type == Type::Error; }

    long long integer() const;
    const std::string& string() const;
    const std::vector<Reply>& array() const;
    const std::string& error() const;  // e.g. "NOSCRIPT No matching script. ..."

private:
    Type _type = Type::Nil;
    long long _integer = 0;
    std::string _text;  // the string, or the error message
    std::vector<Reply> _elements;
};

} // namespace sluice::redis
