"""A local OAuth2 token endpoint for tests, over HTTPS with a throwaway CA (msal insists on
an https authority), playing Microsoft Entra ID and Google as far as dlrpoll's token sources
use them.

Microsoft (``authority_host = server.url``, tenant ``TENANT``):

- ``GET /TENANT/v2.0/.well-known/openid-configuration``: the tenant's discovery document;
- ``POST /TENANT/oauth2/v2.0/token``, ``grant_type=client_credentials``: a JWT-shaped access
  token (aud ``https://outlook.office365.com``, roles ``IMAP.AccessAsApp``…) when
  ``client_secret`` equals :attr:`TokenServer.client_secret` or the ``client_assertion`` is
  signed by :attr:`TokenServer.client_key`; else ``401 invalid_client`` with AADSTS7000215.

Google (``token_uri = server.url + "/token"``):

- ``grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer``: the assertion must be signed
  by :attr:`TokenServer.service_key` (RS256, aud Google's token URI), ``sub`` is recorded;
- ``grant_type=refresh_token``: ``refresh_token`` and ``client_secret`` must match.

Each issued token is passed to ``on_issue(user, token)`` (e.g. a Dovecot introspection
endpoint's ``grant``) with the user it acts for. ``requests`` records every token request.
"""

from __future__ import annotations

import base64
import json
import secrets
import shutil
import ssl
import tempfile
import threading
import time
import urllib.parse
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any

import jwt
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from tests.support.tls import make_ca, make_server_cert

__all__ = ["TENANT", "TokenServer", "fake_jwt", "rsa_key_and_cert"]

TENANT = "contoso-tenant"
GOOGLE_AUD = "https://oauth2.googleapis.com/token"


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def fake_jwt(claims: dict[str, Any]) -> str:
    """A JWT-shaped token with these claims and a meaningless signature (dlrpoll reads
    claims without verifying them; only the server that receives a token verifies it)."""
    head = _b64url(json.dumps({"typ": "JWT", "alg": "RS256"}).encode())
    return f"{head}.{_b64url(json.dumps(claims).encode())}.{_b64url(b'not-a-signature')}"


def rsa_key_and_cert(common_name: str) -> tuple[str, str]:
    """A fresh RSA key and a self-signed certificate for it, as PEM texts."""
    import datetime

    from cryptography import x509

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=2))
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    return key_pem, cert.public_bytes(serialization.Encoding.PEM).decode()


class TokenServer:
    """See the module docstring. Use as a context manager."""

    def __init__(self, on_issue: Callable[[str, str], None] | None = None) -> None:
        self.on_issue = on_issue or (lambda user, token: None)
        self.client_id = "dlrpoll-app"
        self.client_secret = "s3cret-" + secrets.token_hex(4)
        self.client_key, self.client_cert = rsa_key_and_cert("dlrpoll-app")
        self.service_key, _ = rsa_key_and_cert("dlrpoll-sa")
        self.refresh_token = "1//refresh-" + secrets.token_hex(4)
        self.expires_in = 3600
        #: the user a Microsoft app-only token acts for (the mailbox it will sign in to)
        self.mailbox = "dlr@example.com"
        self.roles = ["IMAP.AccessAsApp", "POP.AccessAsApp"]
        self.requests: list[dict[str, str]] = []
        self._lock = threading.Lock()
        self._dir = Path(tempfile.mkdtemp(prefix="tok"))
        ca_crt, ca_key = make_ca(self._dir)
        crt, key = make_server_cert(self._dir, ca_crt, ca_key)
        self.ca_file = ca_crt
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(crt, key)
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                server._reply(self, *server._get(self.path))

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length).decode()
                form = {k: v[0] for k, v in urllib.parse.parse_qs(body).items()}
                server._reply(self, *server._post(self.path, form))

            def log_message(self, format: str, *args: object) -> None:
                pass

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self._httpd.socket = ctx.wrap_socket(self._httpd.socket, server_side=True)
        self.url = f"https://127.0.0.1:{self._httpd.server_address[1]}"
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()

    def __enter__(self) -> TokenServer:
        return self

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        shutil.rmtree(self._dir, ignore_errors=True)

    def reset(self) -> None:
        """Forget the requests seen so far (between tests sharing one server)."""
        with self._lock:
            self.requests.clear()

    def token_requests(self) -> list[dict[str, str]]:
        with self._lock:
            return [r for r in self.requests if "grant_type" in r]

    @staticmethod
    def _reply(handler: BaseHTTPRequestHandler, status: int, answer: dict[str, Any]) -> None:
        body = json.dumps(answer).encode()
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)

    # -- Microsoft -------------------------------------------------------------------------
    def _get(self, path: str) -> tuple[int, dict[str, Any]]:
        with self._lock:
            self.requests.append({"path": path})
        if path == f"/{TENANT}/v2.0/.well-known/openid-configuration":
            base = f"{self.url}/{TENANT}"
            return 200, {
                "token_endpoint": f"{base}/oauth2/v2.0/token",
                "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
                "issuer": f"{base}/v2.0",
                "device_authorization_endpoint": f"{base}/oauth2/v2.0/devicecode",
            }
        return 404, {"error": "not_found"}

    def _microsoft(self, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        ok = form.get("client_id") == self.client_id and (
            form.get("client_secret") == self.client_secret
            or self._assertion_ok(form.get("client_assertion"))
        )
        if not ok:
            return 401, {
                "error": "invalid_client",
                "error_description": "AADSTS7000215: Invalid client secret provided. Ensure "
                "the secret being sent in the request is the client secret value, not the "
                "client secret ID.\r\nTrace ID: 0\r\nTimestamp: 2026-11-30 00:00:00Z",
                "error_codes": [7000215],
            }
        now = int(time.time())
        token = fake_jwt(
            {
                "aud": "https://outlook.office365.com",
                "iss": f"https://sts.windows.net/{TENANT}/",
                "tid": TENANT,
                "appid": self.client_id,
                "roles": self.roles,
                "iat": now,
                "exp": now + self.expires_in,
                "jti": secrets.token_hex(8),
            }
        )
        self.on_issue(self.mailbox, token)
        return 200, {"token_type": "Bearer", "expires_in": self.expires_in, "access_token": token}

    def _assertion_ok(self, assertion: str | None) -> bool:
        if not assertion:
            return False
        from cryptography import x509

        public = x509.load_pem_x509_certificate(self.client_cert.encode()).public_key()
        try:
            jwt.decode(
                assertion,
                public,  # type: ignore[arg-type]
                algorithms=["RS256", "PS256"],
                options={"verify_aud": False},
            )
        except jwt.PyJWTError:
            return False
        return True

    # -- Google ----------------------------------------------------------------------------
    def _google(self, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        grant = form.get("grant_type")
        user: str | None = None
        if grant == "urn:ietf:params:oauth:grant-type:jwt-bearer":
            key = serialization.load_pem_private_key(self.service_key.encode(), None)
            try:
                claims = jwt.decode(
                    form.get("assertion", ""),
                    key.public_key(),  # type: ignore[arg-type]
                    algorithms=["RS256"],
                    audience=GOOGLE_AUD,
                )
            except jwt.PyJWTError as exc:
                return 400, {"error": "invalid_grant", "error_description": f"Invalid JWT: {exc}"}
            if "https://mail.google.com/" not in str(claims.get("scope")):
                return 400, {"error": "invalid_scope", "error_description": "no mail scope"}
            user = str(claims.get("sub"))
        elif grant == "refresh_token":
            if form.get("client_secret") != self.client_secret:
                return 401, {"error": "invalid_client", "error_description": "Unauthorized"}
            if form.get("refresh_token") != self.refresh_token:
                return 400, {"error": "invalid_grant", "error_description": "Token has been "
                             "expired or revoked."}  # fmt: skip
            user = self.mailbox
        else:
            return 400, {"error": "unsupported_grant_type"}
        token = "ya29." + secrets.token_urlsafe(24)
        self.on_issue(user, token)
        return 200, {"access_token": token, "expires_in": self.expires_in, "token_type": "Bearer"}

    def _post(self, path: str, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        with self._lock:
            self.requests.append({"path": path, **form})
        if path == f"/{TENANT}/oauth2/v2.0/token":
            return self._microsoft(form)
        if path == "/token":
            return self._google(form)
        return 404, {"error": "not_found"}

    def service_account_file(self, directory: Path) -> Path:
        """A Google service account key file whose token URI is this server."""
        path = directory / "service-account.json"
        path.write_text(
            json.dumps(
                {
                    "type": "service_account",
                    "project_id": "dlrpoll-test",
                    "private_key_id": "k1",
                    "private_key": self.service_key,
                    "client_email": "dlrpoll@dlrpoll-test.iam.gserviceaccount.com",
                    "client_id": "1234567890",
                    "token_uri": f"{self.url}/token",
                }
            )
        )
        return path
