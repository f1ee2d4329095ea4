"""Who may call the guest endpoints (``ERPNEXT_MEDUSA_GUEST_ACCESS``).

- ``open``: anyone, as the contract we replace allows.
- ``key``: a guest must send one of the storefront keys in ``X-Storefront-Key`` (no key: 403; a wrong key:
  401). The key's id, never the secret, is what the audit trail records.
- ``medusa-token``: the methods the registry marks ``medusa_token`` (``update_address``) need
  ``Authorization: Bearer <Medusa customer JWT>`` (HS256, signed with the Medusa server's secret,
  ``actor_type`` ``customer``); the write may touch only the Customer whose medusa_id is the token's
  ``actor_id``. Missing, expired, forged or foreign tokens are a 403. Other guest endpoints need an API key.
API-key users are never held back by the policy.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

import jwt

from erpnext_medusa.config import Settings
from erpnext_medusa.domain.errors import AuthenticationError, NotPermittedError
from erpnext_medusa.web.registry import Method

STOREFRONT_KEY_HEADER = "X-Storefront-Key"
_MAX_ACTOR_ID = 140


def _digest(secret: str) -> bytes:
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).digest()


@dataclass(frozen=True)
class GuestPass:
    """What let a guest in, for the audit trail."""

    storefront_key: str | None = None
    medusa_actor: str | None = None


class GuestPolicy:
    def __init__(self, settings: Settings) -> None:
        self.mode = settings.guest_access
        self._keys = [(key_id, _digest(secret)) for key_id, secret in settings.storefront_key_map.items()]
        self._jwt_secret = settings.medusa_jwt_secret.get_secret_value()

    def bearer_token(self, authorization: str | None) -> str | None:
        """In medusa-token mode, the JWT of an ``Authorization: Bearer`` header (which is then not an API key)."""
        if self.mode != "medusa-token" or not authorization:
            return None
        scheme, _, token = authorization.partition(" ")
        return token.strip() if scheme.lower() == "bearer" else None

    def is_guest(self, authorization: str | None) -> bool:
        """Whether a request with this header is a guest's (no API key; a Medusa token is a guest's too)."""
        return not authorization or self.bearer_token(authorization) is not None

    def admit(self, method: Method, storefront_key: str | None, bearer: str | None) -> GuestPass:
        """Let a guest call ``method`` (a guest endpoint), or raise the refusal."""
        if self.mode == "key":
            return GuestPass(storefront_key=self._match_key(storefront_key))
        if self.mode == "medusa-token":
            if not method.medusa_token:  # the same class and status as Frappe's whitelist refusal
                raise NotPermittedError(
                    f"Guests may not call {method.path} when guest access is medusa-token: a Medusa customer "
                    "token admits only the calls on the customer's own account; call this one with an API key.",
                    reason="medusa_token_not_allowed",
                )
            return GuestPass(medusa_actor=self._actor(bearer))
        return GuestPass()

    def _match_key(self, presented: str | None) -> str:
        if not presented:
            raise NotPermittedError(
                f"A storefront key is required: send it in the {STOREFRONT_KEY_HEADER} header.",
                reason="storefront_key_missing",
            )
        candidate = _digest(presented)
        found = None
        # Digests of equal length, and every key compared: the time tells neither a key's length nor which matched.
        for key_id, digest in self._keys:
            if hmac.compare_digest(candidate, digest) and found is None:
                found = key_id
        if found is None:
            raise AuthenticationError(reason="storefront_key_wrong")
        return found

    def _actor(self, token: str | None) -> str:
        if not token:
            raise NotPermittedError(
                "A Medusa customer token is required: Authorization: Bearer <token>.", reason="medusa_token_missing"
            )
        try:
            claims = jwt.decode(token, self._jwt_secret, algorithms=["HS256"], options={"require": ["exp"]})
        except jwt.InvalidTokenError:
            raise NotPermittedError(
                "The Medusa customer token is invalid or has expired.", reason="medusa_token_invalid"
            ) from None
        actor = claims.get("actor_id")
        if claims.get("actor_type") != "customer" or not isinstance(actor, str) or not 0 < len(actor) <= _MAX_ACTOR_ID:
            raise NotPermittedError("The Medusa token does not belong to a customer.", reason="medusa_token_invalid")
        return actor
