# Tries, without waiting, to take the three locks locks.py holds; prints
# "<name> free" or "<name> held" for each.
import fcntl, os, struct
out = []
try:
    fcntl.flock(open('lk-flock', 'w'), fcntl.LOCK_EX | fcntl.LOCK_NB); out.append('flock free')
except OSError: out.append('flock held')
try:
    fcntl.lockf(open('lk-posix', 'w'), fcntl.LOCK_EX | fcntl.LOCK_NB, 1, 12); out.append('posix free')
except OSError: out.append('posix held')
try:
    fcntl.fcntl(os.open('lk-ofd', os.O_RDWR), 37, struct.pack('hhqqi4x', fcntl.F_WRLCK, 0, 0, 0, 0)); out.append('ofd free')
except OSError: out.append('ofd held')
print(' '.join(out))
