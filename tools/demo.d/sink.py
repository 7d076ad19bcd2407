"""A webhook sink for the demo: listens on 127.0.0.1 (any free port),
writes the port to argv[1] once listening, and appends every POSTed body
(which must be a JSON object) as one line to argv[2]. Answers 400 to
anything else, so a malformed notification shows up as a retried one."""

import http.server
import json
import sys


class Sink(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        length = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(length)
        try:
            doc = json.loads(body)
            ok = isinstance(doc, dict) and self.headers.get(
                "Content-Type") == "application/json"
        except ValueError:
            ok = False
        if ok:
            with open(sys.argv[2], "a") as out:
                out.write(json.dumps(doc) + "\n")
        self.send_response(200 if ok else 400)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


server = http.server.HTTPServer(("127.0.0.1", 0), Sink)
with open(sys.argv[1], "w") as f:
    f.write(str(server.server_address[1]))
server.serve_forever()
