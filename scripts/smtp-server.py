#!/usr/bin/python3
"""A real SMTP server on 127.0.0.1 for the alert tests (aiosmtpd from Debian).

    smtp-server.py PORT FOLDER CERT KEY USER PASSWORD [MODE]

Requires STARTTLS and then AUTH (PLAIN or LOGIN) with USER/PASSWORD; each accepted message is
written to FOLDER as NNNN.eml. MODE `refuse` answers every RCPT TO with 550. Prints `ready`
once it listens; stops when its standard input closes.
"""
import os
import ssl
import sys

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

port, folder, cert, key, user, password = sys.argv[1:7]
mode = sys.argv[7] if len(sys.argv) > 7 else "ok"


class Handler:
    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if mode == "refuse":
            return "550 5.7.1 relaying denied (test)"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        n = len(os.listdir(folder))
        with open(os.path.join(folder, f"{n:04d}.eml"), "wb") as f:
            f.write(envelope.original_content or envelope.content)
        return "250 Message accepted"


def authenticate(server, session, envelope, mechanism, auth_data):
    ok = (isinstance(auth_data, LoginPassword) and auth_data.login.decode() == user
          and auth_data.password.decode() == password)
    if ok:
        return AuthResult(success=True)
    return AuthResult(success=False, handled=False, message="535 5.7.8 Authentication credentials invalid")


context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
context.load_cert_chain(cert, key)
controller = Controller(
    Handler(), hostname="127.0.0.1", port=int(port), tls_context=context, require_starttls=True,
    authenticator=authenticate, auth_required=True, auth_require_tls=True)
controller.start()
print("ready", flush=True)
sys.stdin.read()
controller.stop()
