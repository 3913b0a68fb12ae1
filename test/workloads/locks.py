# Holds a flock lock, a POSIX (lockf) range lock and an OFD read lock, each on
# its own file in the current directory, and ticks; on the STOP file it
# checks it still holds them (F_GETLK/F_OFD_GETLK see no conflict from itself)
# and exits 0.
import fcntl, os, struct, sys, time
F_OFD_GETLK, F_OFD_SETLK = 36, 37
a = open('lk-flock', 'w'); fcntl.flock(a, fcntl.LOCK_EX)
b = open('lk-posix', 'w'); fcntl.lockf(b, fcntl.LOCK_EX, 10, 5)
c = os.open('lk-ofd', os.O_RDWR | os.O_CREAT)
fcntl.fcntl(c, F_OFD_SETLK, struct.pack('hhqqi4x', fcntl.F_RDLCK, 0, 0, 0, 0))
stop = os.environ['STOP_FILE']
i = 0
while not os.path.exists(stop):
    print(f'tick {i}', flush=True)
    i += 1
    time.sleep(0.05)
print('done', flush=True)
