// A hostile agent's reply as the host reads it: the first byte picks the request it answers,
// the rest is the frame body, decoded as Client::call does (decode_reply, then decode_reply_for
// the request's reply type). Only kvrun::Error may come out (JsonError, ReplyError, AgentError):
// an nlohmann exception, a crash or a stack overflow is a finding. The same bytes also go through
// decode_request, the agent's side.
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <type_traits>
#include <variant>
#include <vector>

#include "common/error.h"
#include "protocol/messages.h"
#include "protocol/replies.h"

namespace {

using namespace kvrun::protocol;

const std::vector<RequestBody>& requests() {
  static const std::vector<RequestBody> all = [] {
    CreateContainer create;
    create.container_id = "c";
    create.bundle_path = "/b";
    return std::vector<RequestBody>{Ping{},
                                    create,
                                    StartContainer{"c"},
                                    ExecProcess{"c", "e", nlohmann::json::object(), false},
                                    SignalProcess{"c", "", 9, false},
                                    WaitProcess{"c", ""},
                                    RemoveContainer{"c", true},
                                    AttachStdio{"c", "", StdioStream::kStdout},
                                    PauseContainer{"c"},
                                    ResumeContainer{"c"},
                                    StatsContainer{"c"},
                                    GetOomEvent{},
                                    ResizePty{"c", "", 24, 80},
                                    ListProcesses{"c"},
                                    DestroySandbox{},
                                    CreateSandbox{"p", std::nullopt, {}},
                                    UpdateContainer{"c", nlohmann::json::object()}};
  }();
  return all;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const RequestBody& body = requests()[data[0] % requests().size()];
  std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);
  try {
    ReplyEnvelope reply = decode_reply(text);
    std::visit(
        [&](const auto& request) {
          using R = std::decay_t<decltype(request)>;
          (void)decode_reply_for<R>(reply.id, reply);
        },
        body);
  } catch (const kvrun::Error&) {
  }
  try {
    (void)decode_request(text);
  } catch (const kvrun::Error&) {
  }
  return 0;
}
