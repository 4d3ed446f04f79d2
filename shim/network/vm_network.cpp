#include "shim/network/vm_network.h"

#include <spdlog/spdlog.h>

#include <fstream>

#include "common/error.h"
#include "shim/network/mirror.h"
#include "shim/network/netlink.h"
#include "common/netns.h"
#include "shim/network/netns_thread.h"

namespace kvrun::network {
namespace {

constexpr const char* kRecord = "network.json";

void write_record(const std::filesystem::path& state_dir, const std::filesystem::path& netns,
                  const std::string& uplink) {
  auto path = state_dir / kRecord;
  auto temporary = state_dir / (std::string(kRecord) + ".tmp");
  {
    std::ofstream out(temporary);
    out << nlohmann::json{{"netns", netns.string()}, {"uplink", uplink}, {"tap", kTapName}}.dump();
    if (!out.flush()) throw Error(temporary.string() + ": cannot write");
  }
  std::filesystem::rename(temporary, path);
}

void teardown(const std::filesystem::path& netns, const std::string& uplink,
              const std::string& tap) {
  if (netns_gone(netns)) {
    // CNI (or the engine) deleted the namespace first, and the tap and qdiscs with it.
    spdlog::debug("network: namespace {} is gone; nothing to remove", netns.string());
    return;
  }
  run_in_netns(netns, [&] {
    NlSocket socket = open_route_socket();
    remove_mirror(socket.get(), uplink, tap);
  });
  spdlog::debug("network: removed {} and the ingress qdiscs in {}", tap, netns.string());
}

}  // namespace

std::optional<std::filesystem::path> network_namespace_path(const nlohmann::json& config) {
  auto linux_it = config.find("linux");
  if (linux_it == config.end() || !linux_it->is_object()) return std::nullopt;
  auto namespaces = linux_it->find("namespaces");
  if (namespaces == linux_it->end() || !namespaces->is_array()) return std::nullopt;
  for (std::size_t i = 0; i < namespaces->size(); ++i) {
    const auto& entry = (*namespaces)[i];
    if (!entry.is_object() || entry.value("type", nlohmann::json()) != "network") continue;
    auto path = entry.find("path");
    if (path == entry.end()) return std::nullopt;
    std::string field = "config.json: linux.namespaces[" + std::to_string(i) + "].path";
    if (!path->is_string() || path->get<std::string>().empty() ||
        path->get<std::string>().front() != '/')
      throw Error(field + ": must be an absolute path");
    return std::filesystem::path(path->get<std::string>());
  }
  return std::nullopt;
}

VmNetwork VmNetwork::setup(const std::filesystem::path& netns,
                           const std::filesystem::path& state_dir) {
  VmNetwork network(netns, state_dir);
  run_in_netns(netns, [&] {
    NlSocket socket = open_route_socket();
    network.uplink_ = find_uplink(socket.get(), kTapName);
    if (!network.uplink_) return;
    write_record(state_dir, netns, network.uplink_->name);
    try {
      create_mirror(socket.get(), network.uplink_->index, kTapName, network.uplink_->mtu);
    } catch (...) {
      // create_mirror() removed what it made; a tap that was there already is not ours.
      network.owned_ = false;
      std::filesystem::remove(state_dir / kRecord);
      throw;
    }
  });
  if (network.uplink_)
    spdlog::info("network: {} ({}) in {} mirrored to {}", network.uplink_->name,
                 network.uplink_->mac, netns.string(), kTapName);
  else
    spdlog::info("network: no interface with an address in {}: loopback only", netns.string());
  return network;
}

VmNetwork::VmNetwork(VmNetwork&& other) noexcept
    : netns_(std::move(other.netns_)),
      state_dir_(std::move(other.state_dir_)),
      uplink_(std::move(other.uplink_)),
      owned_(other.owned_) {
  other.owned_ = false;
}

VmNetwork::~VmNetwork() {
  if (!owned_ || !uplink_) return;
  try {
    teardown(netns_, uplink_->name, kTapName);
    std::filesystem::remove(state_dir_ / kRecord);
  } catch (const std::exception& e) {
    // The record stays, so `kvrun delete` tries again.
    spdlog::warn("network: teardown in {}: {}", netns_.string(), e.what());
  }
}

void remove_recorded_network(const std::filesystem::path& state_dir) {
  auto path = state_dir / kRecord;
  std::ifstream in(path);
  if (!in) return;
  nlohmann::json record = nlohmann::json::parse(in, nullptr, false);
  auto text = [&](const char* key) {
    auto it = record.is_object() ? record.find(key) : record.end();
    if (it == record.end() || !it->is_string() || it->get<std::string>().empty())
      throw Error(path.string() + ": missing or bad \"" + key + "\"");
    return it->get<std::string>();
  };
  teardown(text("netns"), text("uplink"), text("tap"));
  std::filesystem::remove(path);
}

}  // namespace kvrun::network
