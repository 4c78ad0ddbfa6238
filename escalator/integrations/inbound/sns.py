"""Amazon SNS over HTTPS: message types, and signature verification (SignatureVersion 1 and 2).

The signing certificate is fetched only from a URL matching the trusted pattern (by default
``https://sns.<region>.amazonaws.com/….pem``), and cached.
"""

from __future__ import annotations

import base64
import binascii
import re
import threading
from collections.abc import Callable
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from escalator.domain.text import first_flaw
from escalator.integrations.inbound.common import PayloadError

DEFAULT_TRUSTED = r"^https://sns\.[a-zA-Z0-9\-]{3,}\.amazonaws\.com(\.cn)?/"
TYPES = ("Notification", "SubscriptionConfirmation", "UnsubscribeConfirmation")
_SIGNED = {
    "Notification": ("Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"),
    "SubscriptionConfirmation": (
        "Message",
        "MessageId",
        "SubscribeURL",
        "Timestamp",
        "Token",
        "TopicArn",
        "Type",
    ),
}
_SIGNED["UnsubscribeConfirmation"] = _SIGNED["SubscriptionConfirmation"]


class SignatureError(Exception):
    """The message is not provably from SNS; the message says why."""


def envelope(body: Any) -> dict[str, str]:
    if not isinstance(body, dict):
        raise PayloadError("body", "expected an SNS JSON message")
    kind = body.get("Type")
    if kind not in TYPES:
        raise PayloadError("Type", f"{kind!r} is not an SNS message type ({', '.join(TYPES)})")
    for field in ("MessageId", "TopicArn", "Timestamp", "Signature", "SignatureVersion"):
        if not isinstance(body.get(field), str):
            raise PayloadError(field, "missing")
    if not isinstance(body.get("SigningCertURL") or body.get("SigningCertUrl"), str):
        raise PayloadError("SigningCertURL", "missing")
    if kind != "Notification" and not isinstance(body.get("SubscribeURL"), str):
        raise PayloadError("SubscribeURL", "missing")
    if not isinstance(body.get("Message"), str):
        raise PayloadError("Message", "missing or not a string")
    flawed = first_flaw({k: v for k, v in body.items() if k != "Message"})
    if flawed:
        raise PayloadError(*flawed)
    return {k: v for k, v in body.items() if isinstance(v, str)}


def string_to_sign(message: dict[str, str]) -> bytes:
    keys = _SIGNED[message["Type"]]
    return "".join(f"{k}\n{message[k]}\n" for k in keys if k in message).encode()


class Verifier:
    """Checks SNS signatures; ``fetch`` downloads a certificate (PEM bytes) by URL."""

    def __init__(self, trusted_pattern: str, fetch: Callable[[str], bytes]) -> None:
        self.trusted = re.compile(trusted_pattern)
        self.fetch = fetch
        self._keys: dict[str, rsa.RSAPublicKey] = {}
        self._lock = threading.Lock()

    def trusted_url(self, url: str) -> bool:
        return bool(self.trusted.match(url))

    def verify(self, message: dict[str, str]) -> None:
        version = message.get("SignatureVersion")
        algorithm: hashes.HashAlgorithm
        if version == "1":
            algorithm = hashes.SHA1()
        elif version == "2":
            algorithm = hashes.SHA256()
        else:
            raise SignatureError(f"SignatureVersion {version!r} is not 1 or 2")
        url = message.get("SigningCertURL") or message.get("SigningCertUrl") or ""
        if not url.endswith(".pem") or not self.trusted_url(url):
            raise SignatureError(f"SigningCertURL {url!r} is not a trusted SNS certificate URL")
        try:
            signature = base64.b64decode(message["Signature"], validate=True)
        except (binascii.Error, ValueError) as exc:
            raise SignatureError("Signature is not base64") from exc
        key = self._key(url)
        try:
            key.verify(signature, string_to_sign(message), padding.PKCS1v15(), algorithm)
        except InvalidSignature as exc:
            raise SignatureError("the signature does not match the message") from exc

    def _key(self, url: str) -> rsa.RSAPublicKey:
        with self._lock:
            cached = self._keys.get(url)
        if cached is not None:
            return cached
        try:
            cert = x509.load_pem_x509_certificate(self.fetch(url))
        except Exception as exc:
            raise SignatureError(f"cannot load the signing certificate: {exc}") from exc
        key = cert.public_key()
        if not isinstance(key, rsa.RSAPublicKey):
            raise SignatureError("the signing certificate's key is not RSA")
        with self._lock:
            self._keys[url] = key
        return key
