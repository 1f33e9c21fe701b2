#!/usr/bin/python3
"""An HTTP receiver on 127.0.0.1 for the alert tests.

    webhook-receiver.py PORT FOLDER

Every POST is written to FOLDER as NNNN.json: {"path": ..., "body": ...}. A path
`/fail/N/...` answers 500 to its first N requests, then 200; `/always-500/...` always 500.
Port 0 picks a free one. Prints `ready PORT` once it listens; stops when its standard input closes.
"""
import json
import os
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

port, folder = int(sys.argv[1]), sys.argv[2]
seen = {}
lock = threading.Lock()


class Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0"))).decode()
        with lock:
            seen[self.path] = seen.get(self.path, 0) + 1
            count = seen[self.path]
            status = 200
            parts = self.path.strip("/").split("/")
            if parts[0] == "always-500" or (parts[0] == "fail" and count <= int(parts[1])):
                status = 500
            n = len(os.listdir(folder))
            with open(os.path.join(folder, f"{n:04d}.json"), "w") as f:
                json.dump({"path": self.path, "status": status, "body": body}, f)
        self.send_response(status)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok" if status == 200 else b"no")

    def log_message(self, *args):
        pass


server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
threading.Thread(target=server.serve_forever, daemon=True).start()
print(f"ready {server.server_address[1]}", flush=True)
sys.stdin.read()
server.shutdown()
