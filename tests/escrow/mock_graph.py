#!/usr/bin/env python3
"""Mock Microsoft Graph + Entra ID sign-in for t_escrow.sh (standard library only, 127.0.0.1).

Usage: mock_graph.py KEYS.json PORTFILE LOGFILE
KEYS.json: [{"id", "key", "deviceId", "createdDateTime", "volumeType"}, ...]
Serves the documented shapes (escrow-and-protectors.md §2):
  POST /{tenant}/oauth2/v2.0/devicecode    -> device_code, user_code, verification_uri, interval 1
  POST /{tenant}/oauth2/v2.0/token         -> authorization_pending once, then access_token;
                                              client_credentials with secret "app-secret"
  GET  /v1.0/informationProtection/bitlocker/recoveryKeys[?$filter=deviceId eq '...']
       list without keys, one key per page (@odata.nextLink)
  GET  /v1.0/informationProtection/bitlocker/recoveryKeys/{id}?$select=key
       the first key wrapped in "value" (as the doc sample), others at top level
Tokens: "good-token" (and the ones it hands out) read keys; "basic-token" gets 403
(BitLockerKey.ReadBasic.All only); anything else 401. Requests without a User-Agent get 400.
Each request is logged to LOGFILE as one JSON line (method, path, headers) for the test to check.
"""
import json
import sys
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

KEYS = json.load(open(sys.argv[1]))
PORTFILE, LOGFILE = sys.argv[2], sys.argv[3]
GOOD = {"good-token", "device-flow-token", "app-token"}
polls = {}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def reply(self, status, obj):
        body = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log(self, body=""):
        with open(LOGFILE, "a") as f:
            f.write(json.dumps({"method": self.command, "path": self.path, "body": body,
                                "headers": {k.lower(): v for k, v in self.headers.items()}}) + "\n")

    def do_POST(self):
        n = int(self.headers.get("Content-Length", 0))
        body = self.rfile.read(n).decode()
        self.log(body)
        form = dict(urllib.parse.parse_qsl(body))
        path = urllib.parse.urlparse(self.path).path
        if path.endswith("/oauth2/v2.0/devicecode"):
            if form.get("client_id") != "test-client":
                return self.reply(400, {"error": "unauthorized_client",
                                        "error_description": "AADSTS700016: application not found"})
            return self.reply(200, {"device_code": "DEVCODE-1", "user_code": "ABCD-EFGH",
                                    "verification_uri": "https://microsoft.com/devicelogin",
                                    "expires_in": 60, "interval": 1,
                                    "message": "To sign in, use a web browser to open the page "
                                               "https://microsoft.com/devicelogin and enter the code ABCD-EFGH."})
        if path.endswith("/oauth2/v2.0/token"):
            gt = form.get("grant_type")
            if gt == "urn:ietf:params:oauth:grant-type:device_code":
                dc = form.get("device_code")
                polls[dc] = polls.get(dc, 0) + 1
                if polls[dc] < 2:
                    return self.reply(400, {"error": "authorization_pending",
                                            "error_description": "AADSTS70016: pending"})
                return self.reply(200, {"token_type": "Bearer", "expires_in": 3599,
                                        "access_token": "device-flow-token", "refresh_token": "rt"})
            if gt == "client_credentials":
                if form.get("client_secret") != "app-secret":
                    return self.reply(401, {"error": "invalid_client",
                                            "error_description": "AADSTS7000215: Invalid client secret"})
                return self.reply(200, {"token_type": "Bearer", "expires_in": 3599, "access_token": "app-token"})
            return self.reply(400, {"error": "unsupported_grant_type"})
        self.reply(404, {"error": {"code": "NotFound", "message": "no such endpoint"}})

    def do_GET(self):
        self.log()
        if not self.headers.get("User-Agent"):
            return self.reply(400, {"error": {"code": "BadRequest", "message": "User-Agent is required"}})
        auth = self.headers.get("Authorization", "")
        tok = auth[7:] if auth.startswith("Bearer ") else ""
        if tok == "basic-token":
            return self.reply(403, {"error": {"code": "Authorization_RequestDenied",
                                              "message": "Insufficient privileges to complete the operation."}})
        if tok not in GOOD:
            return self.reply(401, {"error": {"code": "InvalidAuthenticationToken",
                                              "message": "Access token validation failure."}})
        u = urllib.parse.urlparse(self.path)
        q = dict(urllib.parse.parse_qsl(u.query))
        base = "/v1.0/informationProtection/bitlocker/recoveryKeys"
        if u.path == base:
            keys = KEYS
            flt = q.get("$filter")
            if flt:
                dev = flt.split("'")[1] if "'" in flt else ""
                keys = [k for k in KEYS if k["deviceId"] == dev]
            page = int(q.get("page", 0))
            items = [{"@odata.type": "#microsoft.graph.bitlockerRecoveryKey", "id": k["id"],
                      "createdDateTime": k["createdDateTime"], "volumeType": k["volumeType"],
                      "deviceId": k["deviceId"]} for k in keys[page:page + 1]]
            out = {"@odata.context": "https://graph.microsoft.com/v1.0/$metadata#informationProtection/"
                                     "bitlocker/recoveryKeys", "value": items}
            if page + 1 < len(keys):
                q2 = dict(q, page=str(page + 1))
                out["@odata.nextLink"] = "http://127.0.0.1:%d%s?%s" % (
                    self.server.server_address[1], base, urllib.parse.urlencode(q2))
            return self.reply(200, out)
        if u.path.startswith(base + "/"):
            kid = u.path[len(base) + 1:].lower()
            for i, k in enumerate(KEYS):
                if k["id"].lower() == kid:
                    ent = {"@odata.type": "#microsoft.graph.bitlockerRecoveryKey", "id": k["id"],
                           "createdDateTime": k["createdDateTime"], "volumeType": k["volumeType"],
                           "deviceId": k["deviceId"]}
                    if q.get("$select") == "key":
                        ent["key"] = k["key"]
                    return self.reply(200, {"value": ent} if i == 0 else ent)
            return self.reply(404, {"error": {"code": "NotFound",
                                              "message": "Recovery key %s was not found." % kid}})
        self.reply(404, {"error": {"code": "NotFound", "message": "no such endpoint"}})


srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
with open(PORTFILE + ".tmp", "w") as f:
    f.write(str(srv.server_address[1]))
import os
os.rename(PORTFILE + ".tmp", PORTFILE)
srv.serve_forever()
