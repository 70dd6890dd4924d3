#include "sluice/Principal.h"

#include "sluice/Catalog.h"

namespace sluice {

bool Principal::mayUse(const std::string& model) const {
    if (allowAllModels) return true;
    for (const auto& allowed : allowedModels)
        if (sameModel(model, allowed) || sameModel(allowed, model)) return true;
    return false;
}

} // namespace sluice
