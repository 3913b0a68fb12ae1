# A Python counter: "tick N" every 20 ms until $STOP_FILE exists. It also
# keeps a list of squares whose sum must be unchanged at the end.
import os
import sys
import time

stop = os.environ["STOP_FILE"]
squares = [x * x for x in range(200_000)]
expected = sum(squares)
i = 0
while not os.path.exists(stop):
    sys.stdout.write(f"tick {i}\n")
    sys.stdout.flush()
    i += 1
    time.sleep(0.02)
if sum(squares) != expected:
    print("FAIL: the list changed", flush=True)
    sys.exit(1)
print(f"verified {len(squares)} squares", flush=True)
print("done", flush=True)
