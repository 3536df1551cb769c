#!/bin/sh
# A plugin that fails before printing its object.
echo "cannot connect to the queue" >&2
exit 2
