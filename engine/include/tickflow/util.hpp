// Small helpers shared by the engine and EPs.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace tickflow {

// Edit distance between two names (case-insensitive for letters).
size_t edit_distance(std::string_view a, std::string_view b);

// The candidate closest to `name` when it is close enough to be a plausible typo,
// else "". Used for "did you mean" in every error about an unknown name.
std::string closest_name(std::string_view name, const std::vector<std::string>& candidates);

// " (did you mean 'X'?)" or "" when there is no close candidate.
std::string did_you_mean(std::string_view name, const std::vector<std::string>& candidates);

}  // namespace tickflow
