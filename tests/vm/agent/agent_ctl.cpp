// agent-ctl: a minimal static client of the agent protocol for in-VM test scripts.
//
//   agent-ctl ADDRESS call TYPE [BODY-JSON]          prints the reply body; an error reply is
//                                                    printed on stderr with exit status 1
//   agent-ctl ADDRESS attach CONTAINER EXEC STREAM   stdout/stderr: copies the stream to stdout
//                                                    until end-of-file; stdin: copies stdin in
//
// ADDRESS is unix:/path or vsock-uds:/path (protocol/connect.h).
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>

#include "common/error.h"
#include "protocol/client.h"
#include "protocol/connect.h"
#include "protocol/framing.h"
#include "protocol/messages.h"

namespace {

using namespace kvrun;

int call(const std::string& address, const std::string& type, const std::string& body_text) {
  nlohmann::json body = nlohmann::json::parse(body_text, nullptr, false);
  if (body.is_discarded()) throw Error("BODY-JSON: malformed JSON");
  UniqueFd fd = protocol::connect_agent(address, std::chrono::hours(1));
  nlohmann::json request = {
      {"version", protocol::kProtocolVersion}, {"id", 1}, {"type", type}, {"body", body}};
  protocol::write_frame(fd.get(), request.dump());
  auto frame = protocol::read_frame(fd.get());
  if (!frame) throw Error(type + ": the agent closed the connection");
  protocol::ReplyEnvelope reply = protocol::decode_reply(*frame);
  if (!reply.ok) {
    std::fprintf(stderr, "agent-ctl: %s: %s\n", type.c_str(), reply.error.c_str());
    return 1;
  }
  std::printf("%s\n", reply.body.dump().c_str());
  return 0;
}

void copy(int from, int to) {
  char buffer[65536];
  for (;;) {
    ssize_t n = ::read(from, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw_errno("read");
    if (n == 0) return;
    for (ssize_t done = 0; done < n;) {
      ssize_t w = ::write(to, buffer + done, static_cast<std::size_t>(n - done));
      if (w < 0 && errno == EINTR) continue;
      if (w < 0) throw_errno("write");
      done += w;
    }
  }
}

int attach(const std::string& address, const std::string& container, const std::string& exec_id,
           const std::string& stream) {
  protocol::AttachStdio request{container, exec_id, protocol::StdioStream::kStdout};
  if (stream == "stdin") request.stream = protocol::StdioStream::kStdin;
  if (stream == "stderr") request.stream = protocol::StdioStream::kStderr;
  UniqueFd fd =
      protocol::attach_stdio(protocol::connect_agent(address, std::chrono::hours(1)), request);
  if (request.stream == protocol::StdioStream::kStdin) {
    copy(STDIN_FILENO, fd.get());
    ::shutdown(fd.get(), SHUT_WR);
  } else {
    copy(fd.get(), STDOUT_FILENO);
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    std::string command = argc > 2 ? argv[2] : "";
    if (command == "call" && (argc == 4 || argc == 5)) {
      return call(argv[1], argv[3], argc == 5 ? argv[4] : "{}");
    }
    if (command == "attach" && argc == 6) return attach(argv[1], argv[3], argv[4], argv[5]);
    std::fprintf(stderr,
                 "usage: agent-ctl ADDRESS call TYPE [BODY-JSON]\n"
                 "       agent-ctl ADDRESS attach CONTAINER EXEC STREAM\n");
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "agent-ctl: %s\n", e.what());
    return 1;
  }
}
