#pragma once
// A JSON value with every node's type spelled out, for tests that compare
// two parsers' trees: nlohmann's == takes 5 and 5u as equal, and readers
// ask is_number_unsigned. Header-only: the fuzz targets use it too.

#include <string>

#include <nlohmann/json.hpp>

namespace sluice::test {

inline std::string typedJson(const nlohmann::json& value) {
    std::string out = value.type_name();
    if (value.is_number_integer()) out += value.is_number_unsigned() ? "+" : "-";
    if (value.is_structured()) {
        out += "(";
        for (const auto& [key, item] : value.items()) out += key + ":" + typedJson(item) + ",";
        out += ")";
    }
    return out;
}

} // namespace sluice::test
