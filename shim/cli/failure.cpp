#include "shim/cli/failure.h"

namespace kvrun::cli {

ExitStatus exit_status_for(ErrorCode /*code*/, bool exec) { return exec ? 255 : 1; }

}  // namespace kvrun::cli
