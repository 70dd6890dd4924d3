#pragma once
// From a stored key and its tenant to the Principal the pipeline sees: the
// key's model grant narrows the tenant's (never widens it), and both sets of
// limit overrides travel for the limits stage to apply the stricter.

#include "sluice/Principal.h"
#include "sluice/store/AuthStore.h"

namespace sluice::auth {

// Models both grants allow. A listed name matches its ":latest" form, as
// model names do everywhere in Sluice.
store::ModelGrant intersect(const store::ModelGrant& tenant, const store::ModelGrant& key);

Principal principalFor(const store::KeyAndTenant& found);

} // namespace sluice::auth
