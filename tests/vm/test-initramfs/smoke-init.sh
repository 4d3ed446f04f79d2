#!/bin/sh
. /lib/kvrun/prelude.sh
echo "smoke: word=$(param word) cpus=$(grep -c ^processor /proc/cpuinfo)"
# A failing step must end the VM with status 1, never reach the finish below.
if [ "$(param fail)" = yes ]; then
  false
fi
finish "$(param status)"
