#include "vmm/kvm/msrs.h"

namespace kvrun::vmm {

std::vector<MsrValue> boot_msrs() {
  return {
      {msr::kSysenterCs, 0},
      {msr::kSysenterEsp, 0},
      {msr::kSysenterEip, 0},
      {msr::kStar, 0},
      {msr::kCstar, 0},
      {msr::kKernelGsBase, 0},
      {msr::kSyscallMask, 0},
      {msr::kLstar, 0},
      {msr::kTsc, 0},
      {msr::kMiscEnable, msr::kMiscEnableFastStrings},
      {msr::kMtrrDefType, msr::kMtrrEnable | msr::kMtrrTypeWriteBack},
  };
}

}  // namespace kvrun::vmm
