#include "sluice/Aliases.h"

#include <algorithm>

namespace sluice {

AliasTable::AliasTable(std::vector<Alias> aliases, std::string fallback)
    : _aliases(std::move(aliases)), _fallback(std::move(fallback)) {
    std::sort(_aliases.begin(), _aliases.end(), [](const Alias& a, const Alias& b) { return a.name < b.name; });
}

const Alias* AliasTable::find(const std::string& name) const {
    auto it = std::lower_bound(_aliases.begin(), _aliases.end(), name,
                               [](const Alias& alias, const std::string& key) { return alias.name < key; });
    return it != _aliases.end() && it->name == name ? &*it : nullptr;
}

} // namespace sluice
