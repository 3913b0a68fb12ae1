#!/bin/bash
# A shell loop that forks a short-lived child every iteration (sleep 0.05,
# an external program) and keeps its counter in a file: "tick N" on stdout
# and N in $1 (rewritten each time), until $STOP_FILE exists; then "done".
counter=${1:?usage: forkloop.sh COUNTER_FILE}
n=0
while [ ! -e "$STOP_FILE" ]; do
  echo "tick $n"
  echo "$n" > "$counter"
  sleep 0.05
  n=$((n + 1))
done
echo "done"
