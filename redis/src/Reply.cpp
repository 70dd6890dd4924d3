#include "sluice/redis/Reply.h"

#include "sluice/redis/RedisError.h"

namespace sluice::redis {

namespace {
const char* describe(Reply::Type type) {
    switch (type) {
    case Reply::Type::Nil: return "a nil";
    case Reply::Type::Integer: return "an integer";
    case Reply::Type::String: return "a string";
    case Reply::Type::Array: return "an array";
    case Reply::Type::Error: return "an error";
    }
    return "an unknown";
}

[[noreturn]] void wrongType(Reply::Type wanted, Reply::Type got) {
    // The value itself is left out: it may be a cached credential.
    throw RedisError(RedisError::Kind::Protocol,
                     std::string("expected ") + describe(wanted) + " reply from Redis, got " + describe(got));
}
} // namespace

Reply Reply::fromInteger(long long value) {
    Reply reply;
    reply._type = Type::Integer;
    reply._integer = value;
    return reply;
}

Reply Reply::fromString(std::string value) {
    Reply reply;
    reply._type = Type::String;
    reply._text = std::move(value);
    return reply;
}

Reply Reply::fromArray(std::vector<Reply> elements) {
    Reply reply;
    reply._type = Type::Array;
    reply._elements = std::move(elements);
    return reply;
}

Reply Reply::fromError(std::string message) {
    Reply reply;
    reply._type = Type::Error;
    reply._text = std::move(message);
    return reply;
}

long long Reply::integer() const {
    if (_type != Type::Integer) wrongType(Type::Integer, _type);
    return _integer;
}

const std::string& Reply::string() const {
    if (_type != Type::String) wrongType(Type::String, _type);
    return _text;
}

const std::vector<Reply>& Reply::array() const {
    if (_type != Type::Array) wrongType(Type::Array, _type);
    return _elements;
}

const std::string& Reply::error() const {
    if (_type != Type::Error) wrongType(Type::Error, _type);
    return _text;
}

} // namespace sluice::redis
