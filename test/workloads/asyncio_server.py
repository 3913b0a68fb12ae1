# A plain asyncio TCP server with state, for checkpoint/restore tests.
# Listens on 127.0.0.1 (port 0: the kernel picks one) and prints "port N".
# Line protocol, one reply line per request:
#   SET k v  -> OK         GET k -> the value, or NIL
#   COUNT    -> the next value of a counter (1, 2, 3, ...)
#   KEYS     -> the number of keys
#   QUIT     -> BYE, then the server closes the connection
# After a connection has been closed on the server side, it prints
# "closed N" (N: connections closed so far). Ends cleanly, printing "done",
# once the file named by $STOP_FILE exists.
import asyncio
import os
import sys

STOP = os.environ["STOP_FILE"]

store: dict[str, str] = {}
counter = 0
closed = 0


def say(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def answer(words: list[str]) -> str | None:
    global counter
    cmd = words[0].upper() if words else ""
    if cmd == "SET" and len(words) == 3:
        store[words[1]] = words[2]
        return "OK"
    if cmd == "GET" and len(words) == 2:
        return store.get(words[1], "NIL")
    if cmd == "COUNT" and len(words) == 1:
        counter += 1
        return str(counter)
    if cmd == "KEYS" and len(words) == 1:
        return str(len(store))
    if cmd == "QUIT":
        return None
    return "ERR " + " ".join(words)


async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    global closed
    try:
        while True:
            line = await reader.readline()
            if not line:
                break
            reply = answer(line.decode().split())
            writer.write(b"BYE\n" if reply is None else reply.encode() + b"\n")
            await writer.drain()
            if reply is None:
                break
    except ConnectionError:
        pass
    finally:
        writer.close()
        try:
            await writer.wait_closed()
        except ConnectionError:
            pass
        closed += 1
        say(f"closed {closed}")


async def main() -> None:
    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    say(f"port {server.sockets[0].getsockname()[1]}")
    while not os.path.exists(STOP):
        await asyncio.sleep(0.02)
    server.close()
    await server.wait_closed()
    say(f"keys {len(store)} count {counter}")
    say("done")


asyncio.run(main())
