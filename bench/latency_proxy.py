#!/usr/bin/env python3
"""A TCP proxy that adds a fixed one-way delay in each direction (a WAN on loopback).

    python3 bench/latency_proxy.py LISTEN_PORT TARGET_HOST:PORT DELAY_MS

Every chunk is forwarded DELAY_MS after it arrived, in order; chunks are not held back behind
each other, so the delay adds latency without capping throughput (like `tc netem delay`, which
needs a kernel module this machine may not have). Used by bench/s3.sh --latency.
"""
import asyncio
import sys
import time


async def pipe(reader, writer, delay):
    queue = asyncio.Queue()

    async def send():
        while True:
            due, data = await queue.get()
            if data is None:
                break
            wait = due - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            writer.write(data)
            await writer.drain()
        writer.close()

    sender = asyncio.create_task(send())
    try:
        while True:
            data = await reader.read(1 << 16)
            if not data:
                break
            queue.put_nowait((time.monotonic() + delay, data))
    finally:
        queue.put_nowait((time.monotonic() + delay, None))
        await sender


async def main():
    port, target, delay_ms = int(sys.argv[1]), sys.argv[2], float(sys.argv[3])
    host, tport = target.rsplit(":", 1)
    delay = delay_ms / 1000

    async def handle(creader, cwriter):
        try:
            sreader, swriter = await asyncio.open_connection(host, int(tport))
        except OSError:
            cwriter.close()
            return
        await asyncio.gather(pipe(creader, swriter, delay), pipe(sreader, cwriter, delay), return_exceptions=True)

    server = await asyncio.start_server(handle, "127.0.0.1", port)
    print(f"latency proxy 127.0.0.1:{port} -> {target}, {delay_ms} ms each way", flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main())
