#!/bin/bash
# no-fence.sh: a fence helper that fences nothing, the harness's negative
# control (test_90_chaos.sh): it answers virtform as virtform-fence would
# ("ready", then "ok" to every line) but kills no QEMU and never arms the
# watchdog. With it, a stopped virtform leaves its QEMU running while another
# host starts the domain, and chaos.py must count double runs. Not a helper.
echo ready
while IFS= read -r line; do
	echo "ok $line"
done
