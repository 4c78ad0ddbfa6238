"""SNS as seen by a subscriber: a signing key and self-signed certificate served over local
HTTP, signed messages (SignatureVersion 1 or 2), and a SubscribeURL that records visits."""

from __future__ import annotations

import base64
import copy
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID

from escalator.integrations.inbound.sns import string_to_sign
from tests.fakes.http import FakeServer, Reply, Request

WIRE = Path(__file__).parents[1] / "wire"


class FakeSns:
    def __init__(self) -> None:
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sns.test")])
        now = datetime.now(UTC)
        self.cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(self.key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(days=1))
            .not_valid_after(now + timedelta(days=30))
            .sign(self.key, hashes.SHA256())
        )
        self.confirmations: list[str] = []
        self.server = FakeServer(self._handle)
        self.cert_url = f"{self.server.url}/SimpleNotificationService-test.pem"
        self.pattern = rf"^http://127\.0\.0\.1:{self.server.port}/"

    def close(self) -> None:
        self.server.close()

    def _handle(self, request: Request) -> Reply:
        if request.path.endswith(".pem"):
            return Reply(200, self.cert.public_bytes(serialization.Encoding.PEM))
        if request.query.get("Action") == ["ConfirmSubscription"]:
            self.confirmations.append(request.query["Token"][0])
            return Reply(200, (WIRE / "sns_confirm_subscription_response.xml").read_bytes())
        return Reply(404)

    def sign(self, message: dict[str, Any], version: str = "1") -> dict[str, Any]:
        signed = {**message, "SignatureVersion": version, "SigningCertURL": self.cert_url}
        algorithm = hashes.SHA1() if version == "1" else hashes.SHA256()
        signature = self.key.sign(string_to_sign(signed), padding.PKCS1v15(), algorithm)
        signed["Signature"] = base64.b64encode(signature).decode()
        return signed

    def alarm(
        self, state: str, *, name: str = "example1-cpu-high", version: str = "1"
    ) -> dict[str, Any]:
        """The wire example's CloudWatch notification, moved to ``state`` and signed."""
        envelope = json.loads((WIRE / "cloudwatch_sns_notification.json").read_text())
        alarm = json.loads(envelope["Message"])
        alarm["AlarmName"] = name
        alarm["AlarmArn"] = alarm["AlarmArn"].rsplit(":", 1)[0] + ":" + name
        alarm["NewStateValue"] = state
        envelope["Message"] = json.dumps(alarm)
        envelope["MessageId"] = f"{name}-{state}-{len(self.confirmations)}"
        return self.sign(envelope, version)

    def subscription(self) -> dict[str, Any]:
        message = copy.deepcopy(
            json.loads((WIRE / "sns_subscription_confirmation.json").read_text())
        )
        message["SubscribeURL"] = (
            f"{self.server.url}/?Action=ConfirmSubscription&TopicArn={message['TopicArn']}"
            f"&Token={message['Token']}"
        )
        return self.sign(message)
