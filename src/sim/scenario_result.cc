#include "sim/scenario_result.h"

namespace mipv6::sim {

const char* path_kind_name(PathKind path) {
  switch (path) {
    case PathKind::kHome:
      return "home";
    case PathKind::kTunnel:
      return "tunnel";
    case PathKind::kRouteOptimized:
      return "direct";
  }
  return "";
}

}  // namespace mipv6::sim
